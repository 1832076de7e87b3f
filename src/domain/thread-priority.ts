import { readdirSync } from 'node:fs'
import { setPriority } from 'node:os'

/** The threads of this process: on Linux each has its own nice value; elsewhere the process has one. */
export function ownThreads (): number[] {
  /* c8 ignore next */
  return process.platform === 'linux' ? readdirSync('/proc/self/task').map(Number) : [0]
}

/**
 * Gives each thread `nice`. A thread that ended since it was listed has
 * nothing left to lower and is passed over; the others are still lowered.
 * Any other failure is thrown: the process must not hash at full priority.
 */
export function lowerThreads (nice: number, threads: readonly number[] = ownThreads()): void {
  for (const thread of threads) {
    try {
      setPriority(thread, nice)
    } catch (err) {
      if ((err as { info?: { code?: unknown } }).info?.code !== 'ESRCH') throw err
    }
  }
}
