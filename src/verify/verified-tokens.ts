import type { Algorithm } from 'fast-jwt'
import { LRUCache } from 'lru-cache'
import type { AccessTokenClaims } from './claims.js'

export interface VerifiedToken {
  claims: AccessTokenClaims
  header: { alg: Algorithm, kid: string }
  /** The key the signature was checked with; the entry holds only while the lookup still answers with it. */
  key: string | Buffer
  /** Unix milliseconds from which the token is refused as expired: its `exp` plus the clock tolerance. */
  expiresAt: number
}

/**
 * Access tokens that passed every check but revocation. A client reusing its
 * token pays for the signature and the claim checks once; nothing here
 * outlives the token's `exp` (plus the clock tolerance), and only verified
 * tokens get in, so no request can fill it with garbage.
 */
export class VerifiedTokens {
  readonly #entries: LRUCache<string, VerifiedToken>

  constructor (max: number) {
    this.#entries = new LRUCache({ max })
  }

  /** The entry for this token while it is unexpired at `now`. */
  get (token: string, now: number): VerifiedToken | undefined {
    const entry = this.#entries.get(token)
    if (entry === undefined || now < entry.expiresAt) return entry
    this.#entries.delete(token)
    return undefined
  }

  remember (token: string, entry: VerifiedToken): void {
    this.#entries.set(token, entry)
  }

  forget (token: string): void {
    this.#entries.delete(token)
  }
}
