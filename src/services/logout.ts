import { revokeSession, revokeUserSessions } from '../domain/sessions.js'
import { auditedTransaction } from './audited-transaction.js'
import type { Caller, ServiceContext } from './context.js'

export type LogoutScope = 'local' | 'others' | 'global'

/** Revokes the caller's session (local), every other one of the user (others) or all of them (global). */
export async function logout (ctx: ServiceContext, caller: Caller, token: { userId: string, sessionId: string }, scope: LogoutScope): Promise<void> {
  const { userId, sessionId } = token
  const rules = ctx.sessionRules
  const now = ctx.clock.now()
  const revoked = await auditedTransaction(ctx, caller, now, async (trx, audit) => {
    const ids = scope === 'local'
      ? (await revokeSession(trx, rules, sessionId, 'logout', now)) ? [sessionId] : []
      : await revokeUserSessions(trx, rules, userId, scope === 'others' ? 'logout_others' : 'logout_global', now, scope === 'others' ? sessionId : undefined)
    await audit({ type: 'logout', userId, sessionId, detail: `scope=${scope}; revoked ${ids.length}` })
    return ids
  })
  // The caller's session is revoked now even if another instance got there first: refuse it here at once.
  ctx.revocations.revokedNow(scope === 'others' ? revoked : [...revoked, sessionId], now)
}
