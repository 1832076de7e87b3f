import type { Clock } from '../../src/domain/clock.js'

/** A clock that stands still until the test moves it: time passes without waiting. */
export interface TestClock extends Clock {
  /** Moves the clock `ms` milliseconds forward. */
  advance (ms: number): void
}

/** A test clock starting at `start` (Unix ms; default the real time now). */
export function testClock (start = Date.now()): TestClock {
  let now = start
  return {
    now: () => now,
    advance (ms) { now += ms }
  }
}

/**
 * Resolves once `condition` holds, checking every few milliseconds; rejects
 * after `timeout` ms saying what was awaited. For what a background timer
 * does at its (shortened) interval: waits exactly as long as that takes.
 */
export async function eventually (condition: () => boolean | Promise<boolean>, what: string, timeout = 10_000): Promise<void> {
  const deadline = Date.now() + timeout
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting until ${what}`)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}
