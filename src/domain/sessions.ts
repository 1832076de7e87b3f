import { createHmac, randomBytes } from 'node:crypto'
import type { Db } from '../store/index.js'
import { newId, newRefreshToken, refreshTokenHash } from './tokens.js'
import { publicUser, type User } from './users.js'

export interface SessionRules {
  /** Seconds a refresh token lives after the session's last rotation. */
  refreshTokenTtl: number
  /** Seconds after login at which the session ends whatever happens. */
  sessionMaxAge: number
  /** Seconds in which a spent token's immediate parent may be replayed for the same child. */
  refreshReuseInterval: number
  /** Seconds an access token lives: how long a revoked session stays in the revocation feed. */
  accessTokenTtl: number
}

export interface ClientInfo {
  ip: string | null
  userAgent: string | null
}

export interface OpenedSession {
  sessionId: string
  refreshToken: string
  /** Unix milliseconds at which the session ends whatever happens. */
  endsAt: number
}

export type RevocationReason = 'logout' | 'logout_others' | 'logout_global' | 'password_changed' | 'refresh_token_reuse' | 'session_deleted'

/** Derives a refresh token's child from it, so a replay within the interval can be answered without storing the child. */
export function childRefreshToken (key: Buffer, parent: string): string {
  return createHmac('sha256', key).update(parent).digest('base64url')
}

/** The server-held key for deriving child refresh tokens; made on first use and shared through the store. */
export async function loadRefreshKey (db: Db, now: number): Promise<Buffer> {
  const name = 'refresh_token_hmac'
  await db.insertInto('server_secrets')
    .values({ name, value: randomBytes(32).toString('base64url'), created_at: now })
    .onConflict(oc => oc.column('name').doNothing())
    .execute()
  const row = await db.selectFrom('server_secrets').select('value').where('name', '=', name).executeTakeFirstOrThrow()
  return Buffer.from(row.value, 'base64url')
}

/**
 * Opens a session for a user who just logged in, with its first refresh
 * token. Run it in the transaction that records the login.
 */
export async function openSession (db: Db, rules: SessionRules, userId: string, client: ClientInfo, now: number): Promise<OpenedSession> {
  const sessionId = newId()
  const refreshToken = newRefreshToken()
  const endsAt = now + rules.sessionMaxAge * 1000
  await db.insertInto('sessions').values({
    id: sessionId,
    user_id: userId,
    created_at: now,
    last_used_at: now,
    idle_expires_at: Math.min(now + rules.refreshTokenTtl * 1000, endsAt),
    absolute_expires_at: endsAt,
    user_agent: client.userAgent?.slice(0, 512) ?? null,
    ip: client.ip,
    revoked_at: null,
    revoked_reason: null
  }).execute()
  await db.insertInto('refresh_tokens').values({
    token_hash: refreshTokenHash(refreshToken),
    session_id: sessionId,
    parent_hash: null,
    created_at: now,
    spent_at: null
  }).execute()
  return { sessionId, refreshToken, endsAt }
}

interface RotatedSession {
  sessionId: string
  /** The session's user, read in the same query as the token. */
  user: User
  /** The child refresh token: newly minted, or the same one again for a replayed parent. */
  refreshToken: string
  /** Unix milliseconds at which the session ends whatever happens. */
  endsAt: number
}

/**
 * What presenting a refresh token did. `rotated`: it was spent and its child
 * minted. `replayed`: it was the immediate parent of the session's newest
 * token, presented again within the reuse interval; the same child is
 * returned and nothing changes. `lostRace`: it was unspent when read but a
 * concurrent rotation spent it first (then answered as a replay or reuse).
 * `reuse`: a spent token presented outside those rules; the session is now
 * revoked. `refused`: unknown, expired or revoked; nothing changed.
 */
export type RotationOutcome =
  | { kind: 'rotated' | 'replayed', session: RotatedSession, lostRace: boolean }
  | { kind: 'reuse', sessionId: string, userId: string, lostRace: boolean }
  | { kind: 'refused', reason: 'unknown' | 'expired' | 'revoked', sessionId?: string, userId?: string }

/**
 * Presents a refresh token under API.md's rotation rules. Run it in a write
 * transaction (`Store.transaction`): the spend is a compare-and-set on
 * `spent_at`, so of concurrent presentations of one token only one mints.
 */
export async function rotateRefreshToken (db: Db, rules: SessionRules, key: Buffer, presented: string, now: number): Promise<RotationOutcome> {
  const hash = refreshTokenHash(presented)
  const child = childRefreshToken(key, presented)

  const row = await db.selectFrom('refresh_tokens')
    .innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select(['refresh_tokens.spent_at', 'sessions.id as session_id', 'sessions.user_id', 'sessions.revoked_at',
      'sessions.idle_expires_at', 'sessions.absolute_expires_at', 'users.email', 'users.roles', 'users.created_at'])
    .where('refresh_tokens.token_hash', '=', hash)
    .executeTakeFirst()
  if (!row) return { kind: 'refused', reason: 'unknown' }
  const { session_id: sessionId, user_id: userId } = row
  if (row.revoked_at !== null) return { kind: 'refused', reason: 'revoked', sessionId, userId }
  if (now >= Number(row.idle_expires_at) || now >= Number(row.absolute_expires_at)) return { kind: 'refused', reason: 'expired', sessionId, userId }
  const user = publicUser({ id: userId, email: row.email, roles: row.roles, created_at: row.created_at })
  const session = { sessionId, user, refreshToken: child, endsAt: Number(row.absolute_expires_at) }

  let lostRace = false
  if (row.spent_at === null) {
    const spent = await db.updateTable('refresh_tokens')
      .set({ spent_at: now })
      .where('token_hash', '=', hash)
      .where('spent_at', 'is', null)
      .executeTakeFirst()
    if (spent.numUpdatedRows === 1n) {
      await db.insertInto('refresh_tokens')
        .values({ token_hash: refreshTokenHash(child), session_id: sessionId, parent_hash: hash, created_at: now, spent_at: null })
        .execute()
      await db.updateTable('sessions')
        .set({ last_used_at: now, idle_expires_at: Math.min(now + rules.refreshTokenTtl * 1000, session.endsAt) })
        .where('id', '=', sessionId)
        .execute()
      return { kind: 'rotated', session, lostRace }
    }
    // Another rotation spent it between our read and our write (possible only outside a write-locking transaction).
    lostRace = true
  }

  // Read again only when a concurrent rotation spent it after our first read.
  const spentAt = Number(lostRace
    ? (await db.selectFrom('refresh_tokens').select('spent_at').where('token_hash', '=', hash).executeTakeFirstOrThrow()).spent_at
    : row.spent_at)
  // The interval runs from the rotation that spent the token; nothing restarts it.
  if (rules.refreshReuseInterval > 0 && now - spentAt <= rules.refreshReuseInterval * 1000) {
    // Only the immediate parent may be replayed: its child must still be the session's unspent newest token.
    const childRow = await db.selectFrom('refresh_tokens').select('spent_at')
      .where('token_hash', '=', refreshTokenHash(child)).executeTakeFirst()
    if (childRow?.spent_at === null) return { kind: 'replayed', session, lostRace }
  }
  await revokeSession(db, rules, sessionId, 'refresh_token_reuse', now)
  return { kind: 'reuse', sessionId, userId, lostRace }
}

/**
 * Revokes one session and adds it to the revocation feed, in the caller's
 * transaction; false when it was already revoked or does not exist.
 */
export async function revokeSession (db: Db, rules: SessionRules, sessionId: string, reason: RevocationReason, now: number): Promise<boolean> {
  const result = await db.updateTable('sessions')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('id', '=', sessionId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst()
  if (result.numUpdatedRows !== 1n) return false
  // Access tokens issued up to now live at most accessTokenTtl more.
  await db.insertInto('revocations')
    .values({ session_id: sessionId, revoked_at: now, expires_at: now + rules.accessTokenTtl * 1000 })
    .execute()
  return true
}

/** Revokes a user's live sessions, all or all but `except`, in the caller's transaction; returns the revoked ids. */
export async function revokeUserSessions (db: Db, rules: SessionRules, userId: string, reason: RevocationReason, now: number, except?: string): Promise<string[]> {
  let query = db.selectFrom('sessions').select('id').where('user_id', '=', userId).where('revoked_at', 'is', null)
  if (except !== undefined) query = query.where('id', '!=', except)
  const revoked: string[] = []
  for (const { id } of await query.execute()) {
    if (await revokeSession(db, rules, id, reason, now)) revoked.push(id)
  }
  return revoked
}

export interface SessionSummary {
  id: string
  createdAt: number
  lastUsedAt: number
  userAgent: string | null
  ip: string | null
}

/** A user's live sessions: not revoked and within both expiry limits, newest first. */
export async function listLiveSessions (db: Db, userId: string, now: number): Promise<SessionSummary[]> {
  const rows = await db.selectFrom('sessions')
    .select(['id', 'created_at', 'last_used_at', 'user_agent', 'ip'])
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('idle_expires_at', '>', now)
    .where('absolute_expires_at', '>', now)
    .orderBy('created_at', 'desc')
    .execute()
  return rows.map(r => ({ id: r.id, createdAt: Number(r.created_at), lastUsedAt: Number(r.last_used_at), userAgent: r.user_agent, ip: r.ip }))
}

/** The owner of a live session, or undefined. */
export async function liveSessionOwner (db: Db, sessionId: string, now: number): Promise<string | undefined> {
  const row = await db.selectFrom('sessions').select('user_id')
    .where('id', '=', sessionId)
    .where('revoked_at', 'is', null)
    .where('idle_expires_at', '>', now)
    .where('absolute_expires_at', '>', now)
    .executeTakeFirst()
  return row?.user_id
}

/**
 * Deletes what can no longer matter: sessions past both limits or revoked
 * longer ago than any of their access tokens can live (their refresh tokens
 * go with them, by cascade), and revocations the feed no longer lists but the
 * newest, which holds the feed's cursors valid. A token
 * of a deleted session is refused as unknown, just as it was as revoked.
 */
export async function pruneExpired (db: Db, rules: SessionRules, now: number, marginMs = 60_000): Promise<{ sessions: number, revocations: number }> {
  const tokenLife = rules.accessTokenTtl * 1000 + marginMs
  return db.transaction().execute(async (trx) => {
    const sessions = await trx.deleteFrom('sessions')
      .where(eb => eb.or([
        eb('idle_expires_at', '<=', now - tokenLife),
        eb('absolute_expires_at', '<=', now - tokenLife),
        eb('revoked_at', '<=', now - tokenLife)
      ]))
      .executeTakeFirst()
    // The newest row stays, expired or not: the feed refuses a cursor past
    // max(seq), and every follower's cursor would be past it once all were gone.
    const revocations = await trx.deleteFrom('revocations')
      .where('expires_at', '<=', now - marginMs)
      .where('seq', '<', eb => eb.selectFrom('revocations').select(({ fn }) => fn.max('seq').as('newest')))
      .executeTakeFirst()
    return { sessions: Number(sessions.numDeletedRows), revocations: Number(revocations.numDeletedRows) }
  })
}
