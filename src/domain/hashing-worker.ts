// The process src/hashing-process.ts starts: argon2 jobs in, results out,
// over the IPC channel. It runs at the lowest CPU priority (see there).
import argon2 from 'argon2'
import { HASHING_NICE, type HashingJob, type HashingResult } from './hashing-process.js'
import { lowerThreads } from './thread-priority.js'

// The process starts at its parent's priority and lowers itself once running:
// started at nice 19 on a host whose cores other processes keep busy, Node's
// own start-up waited for them (15 s before a first hash, against 17 ms for
// the next). Threads made later, libuv's pool at the first job among them,
// take the priority of the thread that makes them.
lowerThreads(HASHING_NICE)

async function run (job: HashingJob): Promise<string | boolean> {
  return job.op === 'hash' ? argon2.hash(job.password, job.options) : argon2.verify(job.hash, job.password)
}

process.on('message', (job: HashingJob) => {
  run(job).then(
    (value): HashingResult => ({ id: job.id, value }),
    // argon2 rejects with Errors only.
    (error: Error): HashingResult => ({ id: job.id, error: error.message })
  // With a callback a failed send (the parent gone while the hash ran: EPIPE)
  // is not thrown as an uncaught 'error' event: there is no one left to tell.
  ).then(result => process.send?.(result, undefined, undefined, () => {}))
})
// Gone with its parent, whatever the way the parent went.
process.on('disconnect', () => process.exit(0))
