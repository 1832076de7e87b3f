import { UnknownAccount } from '../domain/errors.js'
import type { User } from '../domain/users.js'
import type { ServiceContext } from './context.js'

/** The account an access token belongs to (cached briefly); a token can outlive its account, and is then refused. */
export async function currentUser (ctx: ServiceContext, userId: string): Promise<User> {
  const user = await ctx.users.find(userId)
  if (user === undefined) throw new UnknownAccount()
  return user
}
