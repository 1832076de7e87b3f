import { clientKey } from '../domain/client-address.js'
import { InvalidCredentials, TooManyAttempts } from '../domain/errors.js'
import type { ServiceContext } from './context.js'

/**
 * Runs a password check under the failed-login throttle of (email, client
 * address). The attempt is counted before the check, so concurrent guesses
 * cannot all slip under the limit; a wrong password (InvalidCredentials) stays
 * counted, a check that ended without a verdict (an overload) is given back,
 * and a right one clears the count.
 */
export async function throttledCheck<T> (ctx: ServiceContext, email: string, ip: string, check: () => Promise<T>): Promise<T> {
  const client = clientKey(ip)
  const retryAfter = ctx.loginThrottle.reserve(email, client, ctx.clock.now())
  if (retryAfter > 0) throw new TooManyAttempts(retryAfter)
  let result: T
  try {
    result = await check()
  } catch (err) {
    if (!(err instanceof InvalidCredentials)) ctx.loginThrottle.release(email, client, ctx.clock.now())
    throw err
  }
  ctx.loginThrottle.recordSuccess(email, client)
  return result
}
