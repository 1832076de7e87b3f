// Measures what the in-memory revocation check costs on a protected route:
// the same server with and without it, alternated A B A B, medians compared.
// Run with `npm run bench:revocation` (builds first). Not part of `npm test`.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { availableParallelism } from 'node:os'
import autocannon from 'autocannon'
import { RevocationList } from '../dist/src/domain/revocations.js'

const ROUNDS = Number(process.env.ROUNDS ?? 3)
const DURATION = Number(process.env.DURATION ?? 10)
const pin = availableParallelism() > 1

async function startServer (variant, port) {
  const args = ['bench/protected-server.js', variant, String(port)]
  // Server on core 0, load generator (this process) on core 1, where the machine has two.
  const child = pin ? spawn('taskset', ['-c', '0', process.execPath, ...args]) : spawn(process.execPath, args)
  child.stderr.pipe(process.stderr)
  const exited = once(child, 'exit').then(([code]) => { throw new Error(`${variant} server exited with ${code}`) })
  const [line] = await Promise.race([once(createInterface({ input: child.stdout }), 'line'), exited])
  return { child, token: JSON.parse(line).token }
}

async function measure (variant, port) {
  const { child, token } = await startServer(variant, port)
  const url = `http://127.0.0.1:${port}/bench/protected`
  const headers = { authorization: `Bearer ${token}` }
  await autocannon({ url, headers, connections: 50, duration: 2 }) // warm-up
  const result = await autocannon({ url, headers, connections: 50, duration: DURATION })
  child.removeAllListeners('exit')
  child.kill('SIGTERM')
  await once(child, 'exit')
  if (result.non2xx > 0) throw new Error(`${variant}: ${result.non2xx} non-2xx replies`)
  return result.requests.average
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
if (pin) process.env.BENCH_PINNED = '1'

const runs = { with: [], without: [] }
for (let round = 0; round < ROUNDS; round++) {
  runs.without.push(await measure('without', 3901))
  runs.with.push(await measure('with', 3902))
}
const withCheck = median(runs.with)
const withoutCheck = median(runs.without)
const cost = (1 - withCheck / withoutCheck) * 100
console.log(`cores ${availableParallelism()}, node ${process.version}, pinned ${pin}, ${ROUNDS} rounds x ${DURATION}s, 50 connections`)
console.log(`without revocation check: ${runs.without.map(Math.round).join(', ')} req/s (median ${Math.round(withoutCheck)})`)
console.log(`with revocation check:    ${runs.with.map(Math.round).join(', ')} req/s (median ${Math.round(withCheck)})`)
console.log(`cost of the check: ${cost.toFixed(2)} % (ratio ${(withCheck / withoutCheck).toFixed(3)}; run-to-run noise is larger than the check)`)

// The same lookup in-process, against the per-request time measured above.
const list = new RevocationList(undefined)
for (let i = 0; i < 10_000; i++) list.add(`revoked-${i}`, Date.now() + 3_600_000)
const calls = 5_000_000
let hits = 0
const started = process.hrtime.bigint()
for (let i = 0; i < calls; i++) if (list.has(`sid-${i & 1023}`)) hits++
const nsPerLookup = Number(process.hrtime.bigint() - started) / calls
const nsPerRequest = 1e9 / withCheck
console.log(`in-process: ${nsPerLookup.toFixed(1)} ns per lookup in a 10,000-entry list (${hits} hits), ` +
  `${(nsPerLookup / nsPerRequest * 100).toFixed(4)} % of the ${(nsPerRequest / 1000).toFixed(0)} µs each protected request takes`)
