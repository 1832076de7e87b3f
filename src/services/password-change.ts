import { InvalidCredentials, InvalidPassword, UnknownAccount } from '../domain/errors.js'
import { acceptablePassword } from '../domain/passwords.js'
import { revokeUserSessions } from '../domain/sessions.js'
import { findUserById, updatePasswordHash } from '../domain/users.js'
import { auditedTransaction } from './audited-transaction.js'
import type { Caller, ServiceContext } from './context.js'
import { throttledCheck } from './throttled-check.js'

export interface PasswordChange {
  currentPassword: string
  newPassword: string
}

/**
 * Changes the password after checking the current one, and revokes every
 * other session of the user. The check counts against the login throttle:
 * a stolen access token must not become a way to guess the password.
 */
export async function changePassword (ctx: ServiceContext, caller: Caller, token: { userId: string, sessionId: string }, change: PasswordChange): Promise<void> {
  const { userId, sessionId } = token
  const user = await findUserById(ctx.store.db, userId)
  if (!user) throw new UnknownAccount()

  const newPassword = acceptablePassword(change.newPassword)
  if (newPassword === null) throw new InvalidPassword()
  const current = acceptablePassword(change.currentPassword)
  await throttledCheck(ctx, user.email, caller.ip, async () => {
    const ok = current !== null && (await ctx.passwords.verify(user.passwordHash, current)).ok
    if (!ok) throw new InvalidCredentials(userId)
  })

  const passwordHash = await ctx.passwords.hash(newPassword)
  const now = ctx.clock.now()
  const revoked = await auditedTransaction(ctx, caller, now, async (trx, audit) => {
    await updatePasswordHash(trx, userId, passwordHash)
    const ids = await revokeUserSessions(trx, ctx.sessionRules, userId, 'password_changed', now, sessionId)
    await audit({ type: 'password_changed', userId, sessionId, detail: `revoked ${ids.length} other sessions` })
    return ids
  })
  ctx.revocations.revokedNow(revoked, now)
}
