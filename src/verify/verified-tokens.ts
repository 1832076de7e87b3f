import type { Algorithm } from 'fast-jwt'
import type { AccessTokenClaims } from './claims.js'
import { RecentlyUsed } from './recently-used.js'

export interface VerifiedToken {
  claims: AccessTokenClaims
  header: { alg: Algorithm, kid: string }
  /** The key the signature was checked with; the entry holds only while the lookup still answers with it. */
  key: string | Buffer
  /** Unix milliseconds from which the token is refused as expired: its `exp` plus the clock tolerance. */
  expiresAt: number
}

/**
 * The index of a token: a number made of the eight characters before the
 * last one of its signature (the last carries few bits). Hashing the whole
 * 600-character token, a new string on every request, for a lookup was the
 * largest cost of a request with a remembered token. Two tokens with one index
 * take turns in its slot; the entry keeps the whole token, which must match.
 */
const INDEX_CHARS = 8
function indexOf (token: string): number {
  let index = 0
  for (let i = token.length - INDEX_CHARS - 1; i < token.length - 1; i++) index = (Math.imul(index, 31) + token.charCodeAt(i)) | 0
  return index
}

interface Entry {
  token: string
  verified: VerifiedToken
}

/**
 * Access tokens that passed every check but revocation. A client reusing its
 * token pays for the signature and the claim checks at least twice (see `remember`);
 * nothing here outlives the token's `exp` (plus the clock tolerance), and only
 * verified tokens get in, so no request can fill it with garbage. At most
 * `max` tokens, the least recently used dropped first (see RecentlyUsed).
 */
export class VerifiedTokens {
  readonly #max: number
  readonly #entries: RecentlyUsed<number, Entry>
  /** Indexes of tokens verified once and not yet remembered; emptied when it reaches `max`. */
  readonly #seenOnce = new Set<number>()

  constructor (max: number) {
    this.#max = max
    this.#entries = new RecentlyUsed(max)
  }

  /** The entry for this token while it is unexpired at `now`. */
  get (token: string, now: number): VerifiedToken | undefined {
    const index = indexOf(token)
    const entry = this.#entries.peek(index)
    // Another token under the same index (one sharing a signature, a forged header or payload) is not this one.
    if (entry === undefined || entry.token !== token) return undefined
    if (now >= entry.verified.expiresAt) {
      this.#entries.delete(index)
      return undefined
    }
    // Only an accepted lookup counts as a use: a token that merely shares the index keeps nothing fresh.
    this.#entries.get(index)
    return entry.verified
  }

  /**
   * Holds a verified token from its second verification on; the first leaves
   * only its index (a number, no token or claims). Clients that sign a new
   * token for every request would otherwise fill the cache with tokens never
   * seen again, and keeping them cost such requests 5 % of their throughput
   * (README, Performance). A token sharing the index counts as seen: it is
   * verified too, so at worst a token is remembered a use early.
   */
  remember (token: string, verified: VerifiedToken): void {
    const index = indexOf(token)
    if (this.#seenOnce.delete(index)) {
      this.#entries.set(index, { token, verified })
      return
    }
    if (this.#seenOnce.size >= this.#max) this.#seenOnce.clear()
    this.#seenOnce.add(index)
  }

  forget (token: string): void {
    const index = indexOf(token)
    if (this.#entries.peek(index)?.token === token) this.#entries.delete(index)
  }
}
