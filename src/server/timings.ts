import { KEY_RELOAD_INTERVAL_MS } from '../domain/keys.js'

/** Every interval and timeout of a running server, in milliseconds; tests shorten them instead of waiting. */
export interface Timings {
  /** How often the signing keys are re-read from the store (rotations by an operator or another instance). */
  keyReloadInterval: number
  /** How often revocations made by other instances sharing the store are picked up. */
  revocationSyncInterval: number
  /** How often dead sessions and old revocations are deleted. */
  pruneInterval: number
  /** How long GET /ready waits for the store before answering 503. */
  readyTimeout: number
}

export const DEFAULT_TIMINGS: Timings = {
  keyReloadInterval: KEY_RELOAD_INTERVAL_MS,
  revocationSyncInterval: 1000,
  pruneInterval: 3600_000,
  readyTimeout: 2000
}
