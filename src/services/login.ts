import { clientKey } from '../domain/client-address.js'
import { checkCredentials } from '../domain/credentials.js'
import { InvalidCredentials, TooManyAttempts } from '../domain/errors.js'
import { openSession } from '../domain/sessions.js'
import { normalizeEmail } from '../domain/users.js'
import { auditAlone, auditedTransaction } from './audited-transaction.js'
import type { Caller, ServiceContext, TokenPair } from './context.js'
import { tokenPair } from './token-pair.js'

export interface LoginInput {
  email: string
  password: string
}

/**
 * Checks the password and opens a session. Attempts are counted per (email,
 * client address) before the check, so concurrent guesses cannot all slip
 * under the limit; a verdict-less failure (an overload) is not counted.
 */
export async function login (ctx: ServiceContext, caller: Caller, input: LoginInput): Promise<TokenPair> {
  const throttleKey = normalizeEmail(input.email) ?? input.email.trim().toLowerCase()
  const client = clientKey(caller.ip)
  const retryAfter = ctx.loginThrottle.reserve(throttleKey, client, ctx.clock.now())
  if (retryAfter > 0) throw new TooManyAttempts(retryAfter)

  let user
  try {
    user = await checkCredentials(ctx.store.db, ctx.passwords, input.email, input.password)
  } catch (err) {
    if (!(err instanceof InvalidCredentials)) {
      ctx.loginThrottle.release(throttleKey, client, ctx.clock.now())
      throw err
    }
    await auditAlone(ctx, caller, ctx.clock.now(), { type: 'login_failed', userId: err.userId, sessionId: null, detail: err.userId ? 'wrong password' : 'unknown email' })
    throw err
  }
  ctx.loginThrottle.recordSuccess(throttleKey, client)

  const now = ctx.clock.now()
  const session = await auditedTransaction(ctx, caller, now, async (trx, audit) => {
    const opened = await openSession(trx, ctx.sessionRules, user.id, { ip: caller.ip, userAgent: caller.userAgent }, now)
    await audit({ type: 'login', userId: user.id, sessionId: opened.sessionId, detail: null })
    return opened
  })
  return tokenPair(ctx, { userId: user.id, sessionId: session.sessionId, roles: user.roles, sessionEndsAt: session.endsAt }, session.refreshToken, user, now)
}
