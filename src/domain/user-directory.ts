import type { Db } from '../store/index.js'
import { RecentlyUsed } from '../verify/recently-used.js'
import { systemClock, type Clock } from './clock.js'
import { findUserById, type User } from './users.js'

export interface UserDirectoryOptions {
  /** Users held at most. */
  max?: number
  /** How long a user read from the store is trusted before it is read again (ms). */
  ttl?: number
  /** What the ttl is measured by; default the system clock. */
  clock?: Clock
}

/**
 * Users by id for routes that only show them (GET /, GET /auth/me), so a
 * request with a reused token costs no store read. Nothing shown changes
 * through the API (emails and creation times are fixed; roles change only in
 * the store, and tokens carry their own), so `ttl` bounds how stale a shown
 * user can be. Accounts that do not exist are not remembered.
 *
 * At most `max` users, the least recently shown dropped first (see RecentlyUsed).
 */
export class UserDirectory {
  readonly #db: Db
  readonly #ttl: number
  readonly #clock: Clock
  readonly #held: RecentlyUsed<string, { user: User, readAt: number }>

  constructor (db: Db, options: UserDirectoryOptions = {}) {
    this.#db = db
    this.#held = new RecentlyUsed(options.max ?? 10_000)
    this.#ttl = options.ttl ?? 30_000
    this.#clock = options.clock ?? systemClock
  }

  /** The user if it is held and fresh, without a store read (nor a promise). */
  cached (id: string): User | undefined {
    const held = this.#held.peek(id)
    if (held === undefined) return undefined
    if (this.#clock.now() - held.readAt > this.#ttl) {
      this.#held.delete(id)
      return undefined
    }
    this.#held.get(id)
    return held.user
  }

  /** Reads the user from the store and holds it: for a caller `cached` has just answered undefined. */
  async load (id: string): Promise<User | undefined> {
    const found = await findUserById(this.#db, id)
    if (found === undefined) return undefined
    const { passwordHash: _, ...user } = found
    this.#held.set(id, { user, readAt: this.#clock.now() })
    return user
  }
}
