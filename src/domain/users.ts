import { EmailTaken } from './errors.js'
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

export const MAX_EMAIL_LENGTH = 254
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

/** A user as the API shows it, from the columns of its row (roles are stored as JSON). */
export function publicUser (row: { id: string, email: string, roles: string, created_at: number }): User {
  return { id: row.id, email: row.email, roles: JSON.parse(row.roles) as string[], createdAt: Number(row.created_at) }
}

function toUser (row: UserRow): UserWithPassword {
  return { ...publicUser(row), passwordHash: row.password_hash }
}

function isUniqueViolation (err: unknown): boolean {
  const code = (err as { code?: unknown }).code
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505'
}

/** Stores a new account; the unique index on email decides between two signups for one address. */
export async function insertUser (db: Db, user: User, passwordHash: string): Promise<void> {
  try {
    await db.insertInto('users').values({
      id: user.id, email: user.email, password_hash: passwordHash, roles: JSON.stringify(user.roles), created_at: user.createdAt
    }).execute()
  } catch (err) {
    if (isUniqueViolation(err)) throw new EmailTaken()
    throw err
  }
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
