import type { Algorithm } from 'fast-jwt'
import type { AccessTokenClaims } from './claims.js'

export interface VerifiedToken {
  claims: AccessTokenClaims
  header: { alg: Algorithm, kid: string }
  /** The key the signature was checked with; the entry holds only while the lookup still answers with it. */
  key: string | Buffer
  /** Unix milliseconds after which the token is expired, clock tolerance included. */
  expiresAt: number
}

/**
 * The index of a token: the start of its signature. Hashing a whole token
 * (600 characters, a new string on every request) for the lookup cost more
 * than anything else a request with a remembered token did; 16 characters of
 * a signature (96 bits, unpredictable without the key) tell tokens apart as
 * well. The entry keeps the whole token, which must match to count.
 */
const INDEX_LENGTH = 16
function indexOf (token: string): string {
  const signatureAt = token.lastIndexOf('.') + 1
  return token.slice(signatureAt, signatureAt + INDEX_LENGTH)
}

/**
 * Access tokens that passed every check but revocation. A client reusing its
 * token pays for the signature and the claim checks once; nothing here
 * outlives the token's `exp` (plus the clock tolerance), and only verified
 * tokens get in, so no request can fill it with garbage.
 *
 * At most `max` tokens, the least recently used one dropped first: a Map
 * keeps insertion order, and a token used again is moved to its end. (The
 * lru-cache package did the same with more bookkeeping per lookup, a tenth of
 * what a request with a remembered token cost.)
 */
export class VerifiedTokens {
  readonly #max: number
  readonly #entries = new Map<string, { token: string, verified: VerifiedToken }>()

  constructor (max: number) {
    this.#max = max
  }

  /** The entry for this token while it is unexpired at `now`. */
  get (token: string, now: number): VerifiedToken | undefined {
    const index = indexOf(token)
    const entry = this.#entries.get(index)
    // Another token under the same signature (a forged header or payload) is not this one.
    if (entry === undefined || entry.token !== token) return undefined
    this.#entries.delete(index)
    if (now > entry.verified.expiresAt) return undefined
    this.#entries.set(index, entry)
    return entry.verified
  }

  remember (token: string, verified: VerifiedToken): void {
    const index = indexOf(token)
    this.#entries.delete(index)
    this.#entries.set(index, { token, verified })
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value as string)
  }

  forget (token: string): void {
    const index = indexOf(token)
    if (this.#entries.get(index)?.token === token) this.#entries.delete(index)
  }
}
