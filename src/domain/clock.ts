/** Where the domain reads the time: the system clock in production, one a test drives. */
export interface Clock {
  /** Unix milliseconds. */
  now (): number
}

export const systemClock: Clock = { now: () => Date.now() }
