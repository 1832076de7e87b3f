import type { Algorithm } from 'fast-jwt'
import { LRUCache } from 'lru-cache'
import type { AccessTokenClaims } from '../tokens.js'

export interface VerifiedToken {
  /** Frozen: every request presenting the token shares them. */
  claims: Readonly<AccessTokenClaims>
  header: { alg: Algorithm, kid: string }
  /** The key the signature was checked with; the entry holds only while the lookup still answers with it. */
  key: string | Buffer
  /** Unix milliseconds after which the token is expired, clock tolerance included. */
  expiresAt: number
}

/**
 * Access tokens that passed every check but revocation, by the exact
 * `Authorization` header that carried them. A client reusing its token pays
 * for the signature and the claim checks once; nothing here outlives the
 * token's `exp`, and only verified tokens get in, so no request can fill it
 * with garbage.
 */
export class VerifiedTokens {
  readonly #entries: LRUCache<string, VerifiedToken>

  constructor (max: number) {
    this.#entries = new LRUCache({ max })
  }

  /** The entry for this header while the token is unexpired at `now`. */
  get (authorization: string, now: number): VerifiedToken | undefined {
    const entry = this.#entries.get(authorization)
    if (entry === undefined || now <= entry.expiresAt) return entry
    this.#entries.delete(authorization)
    return undefined
  }

  remember (authorization: string, entry: VerifiedToken): void {
    Object.freeze(entry.claims.roles)
    if (Array.isArray(entry.claims.aud)) Object.freeze(entry.claims.aud)
    Object.freeze(entry.claims)
    this.#entries.set(authorization, entry)
  }

  forget (authorization: string): void {
    this.#entries.delete(authorization)
  }
}
