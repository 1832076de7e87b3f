import { LRUCache } from 'lru-cache'
import type { Db } from '../store/index.js'
import { findUserById, type User } from './users.js'

export interface UserDirectoryOptions {
  /** Users held at most. */
  max?: number
  /** How long a user read from the store is trusted before it is read again (ms). */
  ttl?: number
}

/**
 * Users by id for routes that only show them (GET /, GET /auth/me), so a
 * request with a reused token costs no store read. Nothing shown changes
 * through the API (emails and creation times are fixed; roles change only in
 * the store, and tokens carry their own), so `ttl` bounds how stale a shown
 * user can be. Accounts that do not exist are not remembered.
 */
export class UserDirectory {
  readonly #db: Db
  readonly #cache: LRUCache<string, User>

  constructor (db: Db, options: UserDirectoryOptions = {}) {
    this.#db = db
    // ttlResolution 0: the clock is read at each lookup. At the default (1 ms)
    // lru-cache arms a timer every millisecond to forget the time it read.
    this.#cache = new LRUCache<string, User>({ max: options.max ?? 10_000, ttl: options.ttl ?? 30_000, ttlResolution: 0 })
  }

  /** The user if it is held and fresh, without a store read (nor a promise). */
  cached (id: string): User | undefined {
    return this.#cache.get(id)
  }

  async find (id: string): Promise<User | undefined> {
    const cached = this.#cache.get(id)
    if (cached !== undefined) return cached
    const found = await findUserById(this.#db, id)
    if (found === undefined) return undefined
    const user: User = { id: found.id, email: found.email, roles: found.roles, createdAt: found.createdAt }
    this.#cache.set(id, user)
    return user
  }
}
