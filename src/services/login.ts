import { checkCredentials } from '../domain/credentials.js'
import { InvalidCredentials } from '../domain/errors.js'
import { openSession } from '../domain/sessions.js'
import { normalizeEmail } from '../domain/users.js'
import { auditAlone, auditedTransaction } from './audited-transaction.js'
import type { Caller, ServiceContext, TokenPair } from './context.js'
import { throttledCheck } from './throttled-check.js'
import { tokenPair } from './token-pair.js'

export interface LoginInput {
  email: string
  password: string
}

/**
 * Checks the password under the failed-login throttle (see throttledCheck)
 * and opens a session.
 */
export async function login (ctx: ServiceContext, caller: Caller, input: LoginInput): Promise<TokenPair> {
  const throttleKey = normalizeEmail(input.email) ?? input.email.trim().toLowerCase()
  let user
  try {
    user = await throttledCheck(ctx, throttleKey, caller.ip, () => checkCredentials(ctx.store.db, ctx.passwords, input.email, input.password))
  } catch (err) {
    if (err instanceof InvalidCredentials) {
      await auditAlone(ctx, caller, ctx.clock.now(), { type: 'login_failed', userId: err.userId, sessionId: null, detail: err.userId ? 'wrong password' : 'unknown email' })
    }
    throw err
  }

  const now = ctx.clock.now()
  const session = await auditedTransaction(ctx, caller, now, async (trx, audit) => {
    const opened = await openSession(trx, ctx.sessionRules, user.id, { ip: caller.ip, userAgent: caller.userAgent }, now)
    await audit({ type: 'login', userId: user.id, sessionId: opened.sessionId, detail: null })
    return opened
  })
  return tokenPair(ctx, { userId: user.id, sessionId: session.sessionId, roles: user.roles, sessionEndsAt: session.endsAt }, session.refreshToken, user, now)
}
