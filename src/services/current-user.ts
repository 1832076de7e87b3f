import { UnknownAccount } from '../domain/errors.js'
import type { User } from '../domain/users.js'
import type { ServiceContext } from './context.js'

/**
 * The account an access token belongs to (cached briefly); a token can
 * outlive its account, and is then refused. A user held in memory is
 * answered at once, without a promise: GET / is the hot path.
 */
export function currentUser (ctx: ServiceContext, userId: string): User | Promise<User> {
  return ctx.users.cached(userId) ?? ctx.users.load(userId).then(existing)
}

function existing (user: User | undefined): User {
  if (user === undefined) throw new UnknownAccount()
  return user
}
