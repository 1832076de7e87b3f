/**
 * Revoked sessions, each held until the instant (Unix ms) from which none of
 * its access tokens could be accepted anyway. The server's revocation list
 * and the plugin's feed follower each fill one; the bearer check reads it on
 * every request, without a store or network call.
 */
export class RevocationSet {
  readonly #until = new Map<string, number>()

  /** Refuses the session's tokens until `untilMs`; a later entry for the session never shortens an earlier one. */
  add (sessionId: string, untilMs: number): void {
    const known = this.#until.get(sessionId)
    if (known === undefined || untilMs > known) this.#until.set(sessionId, untilMs)
  }

  /** Whether the session's tokens are refused at `now`: an expired entry never counts, pruned or not. */
  has (sessionId: string, now: number): boolean {
    const until = this.#until.get(sessionId)
    return until !== undefined && now < until
  }

  /** Drops the entries expired at `now`. */
  prune (now: number): void {
    for (const [sessionId, until] of this.#until) {
      if (until <= now) this.#until.delete(sessionId)
    }
  }

  /** Entries held, expired ones not yet pruned included. */
  get size (): number {
    return this.#until.size
  }
}
