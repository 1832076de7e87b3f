import { randomUUID } from 'node:crypto'
import { EmailTaken, InvalidEmail, InvalidPassword } from '../domain/errors.js'
import { acceptablePassword } from '../domain/passwords.js'
import { findUserByEmail, insertUser, normalizeEmail, type User } from '../domain/users.js'
import { auditedTransaction } from './audited-transaction.js'
import type { Caller, ServiceContext } from './context.js'

export interface SignupInput {
  email: string
  password: string
}

/** Creates an account: the address normalised and free, the password within the rules and hashed. */
export async function signup (ctx: ServiceContext, caller: Caller, input: SignupInput): Promise<User> {
  const email = normalizeEmail(input.email)
  if (email === null) throw new InvalidEmail()
  const password = acceptablePassword(input.password)
  if (password === null) throw new InvalidPassword()
  // Checked before hashing, so a taken address costs no argon2 work; the unique index still decides races.
  if (await findUserByEmail(ctx.store.db, email)) throw new EmailTaken()

  const passwordHash = await ctx.passwords.hash(password)
  const now = ctx.clock.now()
  const user: User = { id: randomUUID(), email, roles: ['user'], createdAt: now }
  await auditedTransaction(ctx, caller, now, async (trx, audit) => {
    await insertUser(trx, user, passwordHash)
    await audit({ type: 'signup', userId: user.id, sessionId: null, detail: null })
  })
  return user
}
