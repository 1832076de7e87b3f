import { randomUUID } from 'node:crypto'
import { EmailTakenError, InvalidEmailError, InvalidPasswordError } from '../server/http-errors.js'
import { acceptablePassword, type PasswordHasher } from './passwords.js'
import type { Db } from '../store/index.js'

export interface User {
  id: string
  email: string
  roles: string[]
  createdAt: number
}

export interface UserWithPassword extends User {
  passwordHash: string
}

const MAX_EMAIL_LENGTH = 254
// Deliberately loose: one @, something on each side, a dot in the domain, no spaces.
const EMAIL_SHAPE = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/u

/** Trims, NFC-normalises and lower-cases an email; null when it is not one. */
export function normalizeEmail (raw: string): string | null {
  if (!raw.isWellFormed()) return null
  const email = raw.trim().normalize('NFC').toLowerCase()
  if (email.length > MAX_EMAIL_LENGTH || !EMAIL_SHAPE.test(email)) return null
  return email
}

interface UserRow { id: string, email: string, password_hash: string, roles: string, created_at: number }

function toUser (row: UserRow): UserWithPassword {
  return { id: row.id, email: row.email, roles: JSON.parse(row.roles) as string[], createdAt: Number(row.created_at), passwordHash: row.password_hash }
}

export function publicUser (user: User) {
  return { id: user.id, email: user.email, roles: user.roles, created_at: new Date(user.createdAt).toISOString() }
}

function isUniqueViolation (err: unknown): boolean {
  const code = (err as { code?: unknown }).code
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505'
}

export async function createUser (db: Db, hasher: PasswordHasher, rawEmail: string, rawPassword: string): Promise<User> {
  const email = normalizeEmail(rawEmail)
  if (email === null) throw new InvalidEmailError()
  const password = acceptablePassword(rawPassword)
  if (password === null) throw new InvalidPasswordError()
  if (await findUserByEmail(db, email)) throw new EmailTakenError()

  const user: User = { id: randomUUID(), email, roles: ['user'], createdAt: Date.now() }
  const passwordHash = await hasher.hash(password)
  try {
    await db.insertInto('users').values({
      id: user.id, email, password_hash: passwordHash, roles: JSON.stringify(user.roles), created_at: user.createdAt
    }).execute()
  } catch (err) {
    // Two signups for one email can both pass the check above; the unique index decides.
    if (isUniqueViolation(err)) throw new EmailTakenError()
    throw err
  }
  return user
}

export async function findUserByEmail (db: Db, email: string): Promise<UserWithPassword | undefined> {
  const row = await db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst()
  return row && toUser(row)
}

export async function findUserById (db: Db, id: string): Promise<UserWithPassword | undefined> {
  const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
  return row && toUser(row)
}

export async function updatePasswordHash (db: Db, userId: string, passwordHash: string): Promise<void> {
  await db.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', userId).execute()
}
