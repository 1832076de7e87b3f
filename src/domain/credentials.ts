import { InvalidCredentials } from './errors.js'
import { acceptablePassword, type PasswordHasher } from './passwords.js'
import type { Db } from '../store/index.js'
import { findUserByEmail, normalizeEmail, updatePasswordHash, type User } from './users.js'

/**
 * Checks an email and password. Every failure is the same InvalidCredentials,
 * and an unknown email costs one argon2 verification like a wrong password does.
 * A correct password stored under weaker parameters is rehashed on the way.
 */
export async function checkCredentials (db: Db, hasher: PasswordHasher, rawEmail: string, rawPassword: string): Promise<User> {
  const email = normalizeEmail(rawEmail)
  const password = acceptablePassword(rawPassword)
  const user = email === null ? undefined : await findUserByEmail(db, email)

  if (user === undefined || password === null) {
    await hasher.verifyDummy(password ?? rawPassword.slice(0, 256))
    throw new InvalidCredentials(user?.id ?? null)
  }

  const { ok, needsRehash } = await hasher.verify(user.passwordHash, password)
  if (!ok) throw new InvalidCredentials(user.id)
  if (needsRehash) await updatePasswordHash(db, user.id, await hasher.hash(password))

  const { passwordHash: _, ...publicFields } = user
  return publicFields
}
