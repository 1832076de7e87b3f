// The process src/hashing-process.ts starts: argon2 jobs in, results out,
// over the IPC channel. It runs at the lowest CPU priority (see there).
import argon2 from 'argon2'
import type { HashingJob, HashingResult } from './hashing-process.js'

async function run (job: HashingJob): Promise<string | boolean> {
  return job.op === 'hash' ? argon2.hash(job.password, job.options) : argon2.verify(job.hash, job.password)
}

process.on('message', (job: HashingJob) => {
  run(job).then(
    (value): HashingResult => ({ id: job.id, value }),
    // argon2 rejects with Errors only.
    (error: Error): HashingResult => ({ id: job.id, error: error.message })
  ).then(result => process.send?.(result))
})
// Gone with its parent, whatever the way the parent went.
process.on('disconnect', () => process.exit(0))
