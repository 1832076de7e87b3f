// node bench/hashing-start.js (after npm run build): how long a first and a second hash take while two
// busy processes at normal priority hold both cores of a 2-core machine. The hashing process must
// not be starved while Node starts it (it lowers itself to nice 19 only once started).
import { HashingProcess } from '../dist/src/domain/hashing-process.js'
const busy = `const end=Date.now()+${process.env.MS ?? 15000}; while(Date.now()<end){}`
const { spawn } = await import('node:child_process')
const burners = [0, 1].map(() => spawn(process.execPath, ['-e', busy], { stdio: 'ignore' }))
await new Promise(resolve => setTimeout(resolve, 300))
const h = new HashingProcess(2)
const t = Date.now()
await h.run({ op: 'hash', password: 'correct horse battery', options: { type: 2, memoryCost: 8192, timeCost: 1, parallelism: 1 } })
console.log('first job under load', Date.now() - t, 'ms')
const t2 = Date.now()
await h.run({ op: 'hash', password: 'correct horse battery', options: { type: 2, memoryCost: 8192, timeCost: 1, parallelism: 1 } })
console.log('second job under load', Date.now() - t2, 'ms')
await h.close(); for (const b of burners) b.kill()
