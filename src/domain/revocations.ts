import type { Db } from '../store/index.js'
import { RevocationSet } from '../verify/revocation-set.js'

export interface RevokedSession {
  sid: string
  /** Unix seconds after which no access token of the session can still be valid. */
  exp: number
}

export interface RevocationPage {
  sessions: RevokedSession[]
  cursor: string
}

const PAGE_SIZE = 1000
// Revocations outlive their access tokens by this much, covering verifiers' clock tolerance.
const EXPIRY_MARGIN_MS = 60_000

/** Parses a feed cursor: the decimal sequence number of the last revocation seen. */
export function parseCursor (cursor: string | undefined): number | null {
  if (cursor === undefined || cursor === '') return 0
  if (!/^\d{1,15}$/.test(cursor)) return null
  return Number(cursor)
}

/**
 * The newest revocation's sequence number, 0 when there is none. Pruning
 * always keeps the newest row, so this never falls below a cursor already
 * handed out (the feed refuses a `since` above it).
 */
export async function latestRevocation (db: Db): Promise<number> {
  const row = await db.selectFrom('revocations').select(({ fn }) => fn.max('seq').as('seq')).executeTakeFirst()
  return Number(row?.seq ?? 0)
}

/** Revocations after `since` whose access tokens may still be unexpired, oldest first. */
export async function revocationsSince (db: Db, since: number, now = Date.now()): Promise<RevocationPage> {
  const rows = await db.selectFrom('revocations')
    .select(['seq', 'session_id', 'expires_at'])
    .where('seq', '>', since)
    .orderBy('seq')
    .limit(PAGE_SIZE)
    .execute()
  const last = rows.at(-1)
  return {
    // Kept a margin past their expiry: verifiers accept tokens a few seconds late.
    sessions: rows.filter(r => Number(r.expires_at) + EXPIRY_MARGIN_MS > now).map(r => ({ sid: r.session_id, exp: Math.ceil(Number(r.expires_at) / 1000) })),
    cursor: String(last ? last.seq : since)
  }
}

/**
 * The revoked sessions whose access tokens may still be presented, held in
 * memory (`revoked`, the set the bearer check reads) so `authenticate` checks
 * them without a store read. `sync` pulls what other instances (or this one)
 * revoked since the last sync, and drops what has expired.
 */
export class RevocationList {
  /** Each session until its access tokens and the margin have expired. */
  readonly revoked = new RevocationSet()
  #cursor = 0
  #syncing: Promise<void> | undefined

  /** `accessTokenTtlMs`: how long a session revoked now may still have unexpired access tokens. */
  constructor (private readonly db: Db, private readonly accessTokenTtlMs = 0) {}

  /** Records a revocation made by this instance at once, before the next sync. */
  add (sessionId: string, expiresAtMs: number): void {
    this.revoked.add(sessionId, expiresAtMs + EXPIRY_MARGIN_MS)
  }

  /** Sessions this instance has just revoked in the store: refused here at once, not at the next sync. */
  revokedNow (sessionIds: Iterable<string>, now = Date.now()): void {
    for (const sid of sessionIds) this.add(sid, now + this.accessTokenTtlMs)
  }

  sync (now = Date.now()): Promise<void> {
    // One sync at a time; callers that arrive meanwhile share it.
    this.#syncing ??= this.#pull(now).finally(() => { this.#syncing = undefined })
    return this.#syncing
  }

  async #pull (now: number): Promise<void> {
    for (;;) {
      const page = await revocationsSince(this.db, this.#cursor, now)
      for (const { sid, exp } of page.sessions) this.add(sid, exp * 1000)
      const next = Number(page.cursor)
      if (next === this.#cursor) break
      this.#cursor = next
    }
    this.revoked.prune(now)
  }
}
