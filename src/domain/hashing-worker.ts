// The process src/hashing-process.ts starts: argon2 jobs in, results out,
// over the IPC channel. It runs at the lowest CPU priority (see there).
import { readdirSync } from 'node:fs'
import { setPriority } from 'node:os'
import argon2 from 'argon2'
import { HASHING_NICE, type HashingJob, type HashingResult } from './hashing-process.js'

/**
 * Lowers every thread of this process to `nice`. The process starts at its
 * parent's priority: started at nice 19 on a host whose cores other processes
 * keep busy, Node's own start-up waited for them (15 s before a first hash,
 * against 17 ms for the next). Threads made later, libuv's pool at the first
 * job among them, take the priority of the thread that makes them.
 */
function lowerEveryThread (nice: number) {
  // On Linux each thread has its own nice value; elsewhere the process has one.
  /* c8 ignore next */
  const threads = process.platform === 'linux' ? readdirSync('/proc/self/task').map(Number) : [0]
  for (const thread of threads) {
    try {
      setPriority(thread, nice)
    } catch {
      // A thread that ended since the listing: nothing left to lower.
    }
  }
}

lowerEveryThread(HASHING_NICE)

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
