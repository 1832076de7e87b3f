import type { Db } from './store/index.js'
import { newId, newRefreshToken, refreshTokenHash } from './tokens.js'

export interface SessionLimits {
  /** Seconds a refresh token lives after the session's last rotation. */
  refreshTokenTtl: number
  /** Seconds after login at which the session ends whatever happens. */
  sessionMaxAge: number
}

export interface ClientInfo {
  ip: string | null
  userAgent: string | null
}

export interface OpenedSession {
  sessionId: string
  refreshToken: string
}

/** Opens a session for a user who just logged in, with its first refresh token. */
export async function openSession (db: Db, limits: SessionLimits, userId: string, client: ClientInfo, now = Date.now()): Promise<OpenedSession> {
  const sessionId = newId()
  const refreshToken = newRefreshToken()
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('sessions').values({
      id: sessionId,
      user_id: userId,
      created_at: now,
      last_used_at: now,
      idle_expires_at: now + limits.refreshTokenTtl * 1000,
      absolute_expires_at: now + limits.sessionMaxAge * 1000,
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
