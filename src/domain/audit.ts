import type { Db } from '../store/index.js'

export type AuditEventType =
  | 'login_succeeded' | 'login_failed' | 'token_refreshed' | 'refresh_reuse_detected'
  | 'logout' | 'password_changed' | 'session_revoked'

/** One security-relevant event; never carries a secret. */
export interface AuditEvent {
  type: AuditEventType
  userId: string | null
  sessionId: string | null
  ip: string | null
  userAgent: string | null
  reason: string | null
}

export async function recordAuditEvent (db: Db, event: AuditEvent, now = Date.now()): Promise<void> {
  await db.insertInto('audit_events').values({
    at: now,
    type: event.type,
    user_id: event.userId,
    session_id: event.sessionId,
    ip: event.ip,
    user_agent: event.userAgent?.slice(0, 512) ?? null,
    reason: event.reason
  }).execute()
}
