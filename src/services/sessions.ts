import { NotFound } from '../domain/errors.js'
import { listLiveSessions, liveSessionOwner, revokeSession, type SessionSummary } from '../domain/sessions.js'
import { auditedTransaction } from './audited-transaction.js'
import type { Caller, ServiceContext } from './context.js'

/** The user's live sessions, newest first. */
export function listSessions (ctx: ServiceContext, userId: string): Promise<SessionSummary[]> {
  return listLiveSessions(ctx.store.db, userId, ctx.clock.now())
}

/** Revokes one of the user's own live sessions; another user's, or a dead one, is not found. */
export async function revokeOwnSession (ctx: ServiceContext, caller: Caller, userId: string, sessionId: string): Promise<void> {
  const now = ctx.clock.now()
  await auditedTransaction(ctx, caller, now, async (trx, audit) => {
    // Another user's session is answered exactly like one that does not exist.
    if (await liveSessionOwner(trx, sessionId, now) !== userId) throw new NotFound('session')
    await revokeSession(trx, ctx.sessionRules, sessionId, 'session_deleted', now)
    await audit({ type: 'session_revoked', userId, sessionId, detail: 'deleted by its owner' })
  })
  ctx.revocations.revokedNow([sessionId], now)
}
