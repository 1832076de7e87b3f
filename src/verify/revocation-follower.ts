import { Type, type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import { RevocationSet } from './revocation-set.js'

const FeedPageSchema = Type.Object({
  sessions: Type.Array(Type.Object({ sid: Type.String(), exp: Type.Integer() })),
  cursor: Type.String({ maxLength: 32 })
})
const FeedPage = Compile(FeedPageSchema)

export interface RevocationFollowerOptions {
  /** Gatehouse's `/.well-known/revoked-sessions`. */
  url: string
  /** Revoked sessions are kept this long past their `exp`, matching the verifier's clock tolerance (ms). */
  clockTolerance: number
  /** A poll slower than this fails (ms). */
  timeout?: number
  /** Told once when polling starts failing, and once when it works again. */
  onAvailabilityChange?: (available: boolean, error?: unknown) => void
  /** What decides when a revocation has expired (Unix ms); default the system clock. */
  clock?: { now (): number }
}

// Pages followed in one poll before waiting for the next: bounds one poll's work.
const MAX_PAGES_PER_POLL = 100

/**
 * Follows Gatehouse's revocation feed: the sessions revoked since the last
 * cursor are added to `revoked`, which the bearer check reads on every
 * request without a network call. A failed poll keeps what it had.
 */
export class RevocationFollower {
  /** The sessions the feed has listed, each until its `exp` plus the clock tolerance. */
  readonly revoked = new RevocationSet()
  readonly #options: RevocationFollowerOptions
  #cursor = ''
  #available = true
  #polling: Promise<void> | undefined
  #timer: NodeJS.Timeout | undefined

  constructor (options: RevocationFollowerOptions) {
    this.#options = options
  }

  has (sessionId: string, now = this.#now()): boolean {
    return this.revoked.has(sessionId, now)
  }

  get size (): number {
    return this.revoked.size
  }

  /** Pulls every revocation since the last poll; never rejects. */
  poll (): Promise<void> {
    this.#polling ??= this.#pull().finally(() => { this.#polling = undefined })
    return this.#polling
  }

  start (interval: number): void {
    this.#timer = setInterval(() => this.poll(), interval)
    this.#timer.unref()
  }

  stop (): void {
    clearInterval(this.#timer)
  }

  async #pull (): Promise<void> {
    try {
      for (let page = 0; page < MAX_PAGES_PER_POLL; page++) {
        const next = await this.#fetchPage()
        for (const { sid, exp } of next.sessions) this.revoked.add(sid, exp * 1000 + this.#options.clockTolerance)
        if (next.cursor === this.#cursor) break
        this.#cursor = next.cursor
      }
      this.#setAvailable(true)
    } catch (error) {
      this.#setAvailable(false, error)
    }
    this.revoked.prune(this.#now())
  }

  async #fetchPage (): Promise<Static<typeof FeedPageSchema>> {
    const url = new URL(this.#options.url)
    if (this.#cursor !== '') url.searchParams.set('since', this.#cursor)
    const response = await fetch(url, { signal: AbortSignal.timeout(this.#options.timeout ?? 5_000), headers: { accept: 'application/json' } })
    if (response.status === 400 && this.#cursor !== '') {
      // The server no longer knows our cursor (its store was replaced): read the feed again from the start.
      await response.body?.cancel()
      this.#cursor = ''
      return this.#fetchPage()
    }
    if (!response.ok) {
      await response.body?.cancel()
      throw new Error(`revocation feed answered ${response.status}`)
    }
    const body: unknown = await response.json()
    if (!FeedPage.Check(body)) throw new Error('revocation feed answered an unexpected body')
    return body
  }

  #now (): number {
    return this.#options.clock?.now() ?? Date.now()
  }

  #setAvailable (available: boolean, error?: unknown) {
    if (available === this.#available) return
    this.#available = available
    this.#options.onAvailabilityChange?.(available, error)
  }
}
