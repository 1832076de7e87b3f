import { createHmac, randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { InvalidGrantError } from '../server/http-errors.js'
import type { Db } from '../store/index.js'
import { newId, newRefreshToken, refreshTokenHash } from './tokens.js'

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
}

export type RevocationReason = 'logout' | 'logout_others' | 'logout_global' | 'password_changed' | 'refresh_token_reuse' | 'session_deleted'

/** Derives a refresh token's child from it, so a replay within the interval can be answered without storing the child. */
export function childRefreshToken (key: Buffer, parent: string): string {
  return createHmac('sha256', key).update(parent).digest('base64url')
}

/** The server-held key for deriving child refresh tokens; made on first use and shared through the store. */
export async function loadRefreshKey (db: Db): Promise<Buffer> {
  const name = 'refresh_token_hmac'
  await db.insertInto('server_secrets')
    .values({ name, value: randomBytes(32).toString('base64url'), created_at: Date.now() })
    .onConflict(oc => oc.column('name').doNothing())
    .execute()
  const row = await db.selectFrom('server_secrets').select('value').where('name', '=', name).executeTakeFirstOrThrow()
  return Buffer.from(row.value, 'base64url')
}

/** Opens a session for a user who just logged in, with its first refresh token. */
export async function openSession (db: Db, rules: SessionRules, userId: string, client: ClientInfo, now = Date.now()): Promise<OpenedSession> {
  const sessionId = newId()
  const refreshToken = newRefreshToken()
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('sessions').values({
      id: sessionId,
      user_id: userId,
      created_at: now,
      last_used_at: now,
      idle_expires_at: now + rules.refreshTokenTtl * 1000,
      absolute_expires_at: now + rules.sessionMaxAge * 1000,
      user_agent: client.userAgent?.slice(0, 512) ?? null,
      ip: client.ip,
      revoked_at: null,
      revoked_reason: null
    }).execute()
    await trx.insertInto('refresh_tokens').values({
      token_hash: refreshTokenHash(refreshToken),
      session_id: sessionId,
      parent_hash: null,
      created_at: now,
      spent_at: null
    }).execute()
  })
  return { sessionId, refreshToken }
}

export interface Rotation {
  sessionId: string
  userId: string
  roles: string[]
  refreshToken: string
  /** Unix milliseconds at which the session ends whatever happens. */
  endsAt: number
  /** True when this answered a replay of the parent within the reuse interval (no new token was minted). */
  replayed: boolean
}

/** Why a refresh was refused; `reuseRevoked` names the session a detected reuse revoked. */
export class RefreshRefused extends InvalidGrantError {
  constructor (readonly reason: 'unknown' | 'expired' | 'revoked' | 'lost_race' | 'reuse', readonly sessionId?: string, readonly userId?: string) {
    super()
  }
}

/**
 * How long a rotation's reply is held after the spend. Presentations of the
 * token that arrive before then are concurrent duplicates (refused, session
 * kept); a client can only replay the token after it got the reply, so
 * anything later is reuse. Measured arrival spreads of ten concurrent
 * requests on fresh connections stayed under 210 ms.
 */
export const ROTATION_SETTLE_MS = 250

/**
 * Spends a refresh token and mints its child in the same session, atomically:
 * the spend is a compare-and-set on `spent_at`, so of two concurrent refreshes
 * of one token only one can mint. `presentedAt` is when the request arrived.
 */
export async function rotateRefreshToken (db: Db, rules: SessionRules, key: Buffer, presented: string, presentedAt: number, now = Date.now()): Promise<Rotation> {
  const hash = refreshTokenHash(presented)
  const child = childRefreshToken(key, presented)

  const outcome = await db.transaction().execute(async (trx) => {
    const row = await trx.selectFrom('refresh_tokens')
      .innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select(['refresh_tokens.spent_at', 'sessions.id as session_id', 'sessions.user_id', 'sessions.revoked_at',
        'sessions.idle_expires_at', 'sessions.absolute_expires_at', 'users.roles'])
      .where('refresh_tokens.token_hash', '=', hash)
      .executeTakeFirst()
    if (!row) return new RefreshRefused('unknown')
    const sessionId = row.session_id
    if (row.revoked_at !== null) return new RefreshRefused('revoked', sessionId, row.user_id)
    if (now >= Number(row.idle_expires_at) || now >= Number(row.absolute_expires_at)) return new RefreshRefused('expired', sessionId, row.user_id)
    const roles = JSON.parse(row.roles) as string[]

    if (row.spent_at === null) {
      const spent = await trx.updateTable('refresh_tokens')
        .set({ spent_at: now })
        .where('token_hash', '=', hash)
        .where('spent_at', 'is', null)
        .executeTakeFirst()
      if (spent.numUpdatedRows === 1n) {
        await trx.insertInto('refresh_tokens')
          .values({ token_hash: refreshTokenHash(child), session_id: sessionId, parent_hash: hash, created_at: now, spent_at: null })
          .execute()
        await trx.updateTable('sessions')
          .set({ last_used_at: now, idle_expires_at: Math.min(now + rules.refreshTokenTtl * 1000, Number(row.absolute_expires_at)) })
          .where('id', '=', sessionId)
          .execute()
        return { sessionId, userId: row.user_id, roles, refreshToken: child, endsAt: Number(row.absolute_expires_at), replayed: false }
      }
    }

    const spentAt = Number((await trx.selectFrom('refresh_tokens').select('spent_at').where('token_hash', '=', hash).executeTakeFirstOrThrow()).spent_at)

    // The interval is counted from the rotation that spent the token; nothing restarts it.
    if (rules.refreshReuseInterval > 0 && now - spentAt <= rules.refreshReuseInterval * 1000) {
      // Only the immediate parent may be replayed: its child must still be the session's unspent newest token.
      const childRow = await trx.selectFrom('refresh_tokens').select('spent_at')
        .where('token_hash', '=', refreshTokenHash(child)).executeTakeFirst()
      if (childRow && childRow.spent_at === null) {
        return { sessionId, userId: row.user_id, roles, refreshToken: child, endsAt: Number(row.absolute_expires_at), replayed: true }
      }
    }
    if (presentedAt < spentAt + ROTATION_SETTLE_MS) return new RefreshRefused('lost_race', sessionId, row.user_id)

    await revokeSessionIn(trx, rules, sessionId, 'refresh_token_reuse', now)
    return new RefreshRefused('reuse', sessionId, row.user_id)
  })

  if (outcome instanceof RefreshRefused) throw outcome
  if (!outcome.replayed) await sleep(Math.max(0, ROTATION_SETTLE_MS - (Date.now() - now)))
  return outcome
}

async function revokeSessionIn (db: Db, rules: SessionRules, sessionId: string, reason: RevocationReason, now: number): Promise<boolean> {
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

/** Revokes one session; false when it was already revoked or does not exist. */
export async function revokeSession (db: Db, rules: SessionRules, sessionId: string, reason: RevocationReason, now = Date.now()): Promise<boolean> {
  return db.transaction().execute(trx => revokeSessionIn(trx, rules, sessionId, reason, now))
}

/** Revokes a user's live sessions, all or all but `except`; returns the revoked ids. */
export async function revokeUserSessions (db: Db, rules: SessionRules, userId: string, reason: RevocationReason, except?: string, now = Date.now()): Promise<string[]> {
  return db.transaction().execute(async (trx) => {
    let query = trx.selectFrom('sessions').select('id').where('user_id', '=', userId).where('revoked_at', 'is', null)
    if (except !== undefined) query = query.where('id', '!=', except)
    const revoked: string[] = []
    for (const { id } of await query.execute()) {
      if (await revokeSessionIn(trx, rules, id, reason, now)) revoked.push(id)
    }
    return revoked
  })
}

export interface SessionSummary {
  id: string
  createdAt: number
  lastUsedAt: number
  userAgent: string | null
  ip: string | null
}

/** A user's live sessions: not revoked and within both expiry limits, newest first. */
export async function listLiveSessions (db: Db, userId: string, now = Date.now()): Promise<SessionSummary[]> {
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
export async function liveSessionOwner (db: Db, sessionId: string, now = Date.now()): Promise<string | undefined> {
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
 * go with them, by cascade), and revocations the feed no longer lists. A token
 * of a deleted session is refused as unknown, just as it was as revoked.
 */
export async function pruneExpired (db: Db, rules: SessionRules, now = Date.now(), marginMs = 60_000): Promise<{ sessions: number, revocations: number }> {
  const tokenLife = rules.accessTokenTtl * 1000 + marginMs
  return db.transaction().execute(async (trx) => {
    const sessions = await trx.deleteFrom('sessions')
      .where(eb => eb.or([
        eb('idle_expires_at', '<=', now - tokenLife),
        eb('absolute_expires_at', '<=', now - tokenLife),
        eb('revoked_at', '<=', now - tokenLife)
      ]))
      .executeTakeFirst()
    const revocations = await trx.deleteFrom('revocations').where('expires_at', '<=', now - marginMs).executeTakeFirst()
    return { sessions: Number(sessions.numDeletedRows), revocations: Number(revocations.numDeletedRows) }
  })
}
