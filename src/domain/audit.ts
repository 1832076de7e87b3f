import type { Db } from '../store/index.js'

/** The event types of API.md "Administration" that this version records. */
export type AuditEventType =
  | 'signup' | 'login' | 'login_failed' | 'refresh' | 'refresh_reuse'
  | 'logout' | 'password_changed' | 'session_revoked'

/** One security-relevant event; never carries a secret. */
export interface AuditEvent {
  type: AuditEventType
  userId: string | null
  sessionId: string | null
  ip: string | null
  userAgent: string | null
  detail: string | null
}

/** Where services log an event once its transaction has committed (pino's logger fits). */
export interface EventLog {
  info (fields: object, message: string): void
  warn (fields: object, message: string): void
}

/** Stores the event; call it inside the transaction of the change it records. */
export async function recordAuditEvent (db: Db, event: AuditEvent, now: number): Promise<void> {
  await db.insertInto('audit_events').values({
    at: now,
    type: event.type,
    user_id: event.userId,
    session_id: event.sessionId,
    ip: event.ip,
    user_agent: event.userAgent?.slice(0, 512) ?? null,
    detail: event.detail
  }).execute()
}
