import type { AccessTokenSubject } from '../domain/tokens.js'
import type { User } from '../domain/users.js'
import type { ServiceContext, TokenPair } from './context.js'

/** Signs an access token for the session (its exp capped at the session's end) beside its refresh token. */
export function tokenPair (ctx: ServiceContext, subject: AccessTokenSubject, refreshToken: string, user: User, now: number): TokenPair {
  return { access: ctx.accessTokens.issue(subject, now), refreshToken, user }
}
