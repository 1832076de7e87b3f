import { closeSync, mkdirSync, openSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import SQLite from 'better-sqlite3'
import { Kysely, SqliteDialect, sql } from 'kysely'
import { migrateToLatest } from './migrations.js'
import type { Database } from './schema.js'

export type { Database } from './schema.js'
export type Db = Kysely<Database>

export interface Store {
  db: Db
  /**
   * Runs `work` in one transaction that holds the write lock from its first
   * statement (SQLite's BEGIN IMMEDIATE), so a read-then-write inside it sees
   * no other writer's change in between, across processes too. Keep slow work
   * (password hashing) outside: other writers wait for it.
   */
  transaction<T> (work: (trx: Db) => Promise<T>): Promise<T>
  /** Resolves when the store answers a trivial query. */
  ping (): Promise<void>
  close (): Promise<void>
}

/** Opens the store named by `databaseUrl` and brings its schema up to date. */
export async function openStore (databaseUrl: string): Promise<Store> {
  if (!databaseUrl.startsWith('sqlite:')) {
    throw new Error('only sqlite: stores are supported by this version')
  }
  const location = databaseUrl.slice('sqlite:'.length)
  const inMemory = location === ':memory:'
  if (!inMemory) {
    // Owner-only: the store holds password hashes and private signing keys.
    mkdirSync(dirname(resolve(location)), { recursive: true, mode: 0o700 })
    closeSync(openSync(location, 'a', 0o600))
  }

  const sqlite = new SQLite(inMemory ? ':memory:' : location)
  // First: switching a new file to WAL takes a lock that processes opening it together wait on.
  sqlite.pragma('busy_timeout = 5000')
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('synchronous = NORMAL')
  sqlite.pragma('foreign_keys = ON')

  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) })
  // Kysely runs SQLite migrations outside a transaction and its lock holds
  // only within one process: processes starting together on a new file
  // would trip over each other's half-made schema. One IMMEDIATE transaction
  // makes the whole migration atomic and makes other processes wait for it
  // (busy_timeout), after which they find nothing left to do.
  try {
    sqlite.exec('BEGIN IMMEDIATE')
    await migrateToLatest(db as Kysely<unknown>)
    sqlite.exec('COMMIT')
  } catch (err) {
    if (sqlite.inTransaction) sqlite.exec('ROLLBACK')
    await db.destroy()
    throw err
  }

  return {
    db,
    transaction: work => db.connection().execute(async (connection) => {
      await sql`begin immediate`.execute(connection)
      try {
        const result = await work(connection)
        await sql`commit`.execute(connection)
        return result
      } catch (err) {
        await sql`rollback`.execute(connection)
        throw err
      }
    }),
    async ping () { await sql`select 1`.execute(db) },
    async close () { await db.destroy() }
  }
}
