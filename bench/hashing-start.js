// `node bench/hashing-start.js` (after `npm run build`): how long a hashing
// process's first and second hash take while two busy processes at normal
// priority hold both cores of a 2-core machine. The process starts at its
// parent's priority and lowers itself to nice 19 once started, so its start-up
// is not starved; the hashes themselves run at nice 19 and are slow here by design.
import { spawn } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { HashingProcess } from '../dist/src/domain/hashing-process.js'

const BUSY_MS = 15_000
const busy = `const end = Date.now() + ${BUSY_MS}; while (Date.now() < end);`
const burners = [0, 1].map(() => spawn(process.execPath, ['-e', busy], { stdio: 'ignore' }))
await sleep(300)

const hashing = new HashingProcess(2)
const job = { op: 'hash', password: 'correct horse battery', options: { type: 2, memoryCost: 8192, timeCost: 1, parallelism: 1 } }
for (const which of ['first', 'second']) {
  const start = Date.now()
  await hashing.run(job)
  console.log(`${which} hash under load: ${Date.now() - start} ms`)
}
await hashing.close()
for (const burner of burners) burner.kill()
