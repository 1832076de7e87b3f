import type { Clock } from '../../src/domain/clock.js'

/** A clock the test moves by hand: it starts at the real time and only moves when told to. */
export class TestClock implements Clock {
  #now: number

  constructor (start = Date.now()) {
    this.#now = start
  }

  now (): number {
    return this.#now
  }

  advance (ms: number): void {
    this.#now += ms
  }
}
