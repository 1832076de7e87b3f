import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely'

// Written with Kysely's schema builder only, so the same steps run on SQLite
// and PostgreSQL. Append new migrations; never edit a released one.
const migrations: Record<string, Migration> = {
  '0001_core': {
    async up (db: Kysely<unknown>) {
      await db.schema.createTable('users')
        .addColumn('id', 'text', c => c.primaryKey())
        .addColumn('email', 'text', c => c.notNull().unique())
        .addColumn('password_hash', 'text', c => c.notNull())
        .addColumn('roles', 'text', c => c.notNull())
        .addColumn('created_at', 'bigint', c => c.notNull())
        .execute()

      await db.schema.createTable('sessions')
        .addColumn('id', 'text', c => c.primaryKey())
        .addColumn('user_id', 'text', c => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_at', 'bigint', c => c.notNull())
        .addColumn('last_used_at', 'bigint', c => c.notNull())
        .addColumn('idle_expires_at', 'bigint', c => c.notNull())
        .addColumn('absolute_expires_at', 'bigint', c => c.notNull())
        .addColumn('user_agent', 'text')
        .addColumn('ip', 'text')
        .addColumn('revoked_at', 'bigint')
        .addColumn('revoked_reason', 'text')
        .execute()
      await db.schema.createIndex('sessions_user_id').on('sessions').column('user_id').execute()
      await db.schema.createIndex('sessions_revoked_at').on('sessions').column('revoked_at').execute()

      await db.schema.createTable('refresh_tokens')
        .addColumn('token_hash', 'text', c => c.primaryKey())
        .addColumn('session_id', 'text', c => c.notNull().references('sessions.id').onDelete('cascade'))
        .addColumn('parent_hash', 'text')
        .addColumn('created_at', 'bigint', c => c.notNull())
        .addColumn('spent_at', 'bigint')
        .execute()
      await db.schema.createIndex('refresh_tokens_session_id').on('refresh_tokens').column('session_id').execute()

      await db.schema.createTable('signing_keys')
        .addColumn('kid', 'text', c => c.primaryKey())
        .addColumn('alg', 'text', c => c.notNull())
        .addColumn('state', 'text', c => c.notNull())
        .addColumn('private_jwk', 'text', c => c.notNull())
        .addColumn('public_jwk', 'text', c => c.notNull())
        .addColumn('created_at', 'bigint', c => c.notNull())
        .addColumn('retired_at', 'bigint')
        .execute()
    }
  },
  '0002_lifecycle': {
    async up (db: Kysely<unknown>) {
      await db.schema.createTable('server_secrets')
        .addColumn('name', 'text', c => c.primaryKey())
        .addColumn('value', 'text', c => c.notNull())
        .addColumn('created_at', 'bigint', c => c.notNull())
        .execute()

      // The revocation feed: `seq` is the cursor resource servers follow.
      await db.schema.createTable('revocations')
        .addColumn('seq', 'integer', c => c.primaryKey().autoIncrement())
        .addColumn('session_id', 'text', c => c.notNull())
        .addColumn('revoked_at', 'bigint', c => c.notNull())
        .addColumn('expires_at', 'bigint', c => c.notNull())
        .execute()

      await db.schema.createTable('audit_events')
        .addColumn('id', 'integer', c => c.primaryKey().autoIncrement())
        .addColumn('at', 'bigint', c => c.notNull())
        .addColumn('type', 'text', c => c.notNull())
        .addColumn('user_id', 'text')
        .addColumn('session_id', 'text')
        .addColumn('ip', 'text')
        .addColumn('user_agent', 'text')
        .addColumn('reason', 'text')
        .execute()
      await db.schema.createIndex('audit_events_user_id').on('audit_events').column('user_id').execute()
    }
  },
  '0003_audit_detail': {
    // API.md names an event's free-text field `detail`, and its types; events
    // stored under the earlier names take API.md's, so `type=` filters find them.
    async up (db: Kysely<unknown>) {
      await db.schema.alterTable('audit_events').renameColumn('reason', 'detail').execute()
      const events = db as Kysely<{ audit_events: { type: string } }>
      const renamed: Array<[string, string]> = [['login_succeeded', 'login'], ['token_refreshed', 'refresh'], ['refresh_reuse_detected', 'refresh_reuse']]
      for (const [before, after] of renamed) {
        await events.updateTable('audit_events').set({ type: after }).where('type', '=', before).execute()
      }
    }
  }
}

const provider: MigrationProvider = {
  async getMigrations () { return migrations }
}

export async function migrateToLatest (db: Kysely<unknown>): Promise<void> {
  const migrator = new Migrator({ db, provider })
  const { error, results } = await migrator.migrateToLatest()
  if (error) {
    const failed = results?.find(r => r.status === 'Error')?.migrationName
    throw new Error(`store migration${failed === undefined ? 's' : ` ${failed}`} failed: ${(error as Error).message}`)
  }
}
