import type { Generated } from 'kysely'

// Times are Unix milliseconds in integer columns, so the same code reads them
// from SQLite and (later) PostgreSQL without date-type differences.

export interface UsersTable {
  id: string
  email: string
  password_hash: string
  roles: string
  created_at: number
}

export interface SessionsTable {
  id: string
  user_id: string
  created_at: number
  last_used_at: number
  idle_expires_at: number
  absolute_expires_at: number
  user_agent: string | null
  ip: string | null
  revoked_at: number | null
  revoked_reason: string | null
}

export interface RefreshTokensTable {
  token_hash: string
  session_id: string
  parent_hash: string | null
  created_at: number
  spent_at: number | null
}

export interface SigningKeysTable {
  kid: string
  alg: string
  state: 'next' | 'active' | 'retired'
  private_jwk: string
  public_jwk: string
  created_at: number
  retired_at: number | null
}

export interface ServerSecretsTable {
  name: string
  value: string
  created_at: number
}

export interface RevocationsTable {
  seq: Generated<number>
  session_id: string
  revoked_at: number
  /** When the last access token the session could have been issued expires. */
  expires_at: number
}

export interface AuditEventsTable {
  id: Generated<number>
  at: number
  type: string
  user_id: string | null
  session_id: string | null
  ip: string | null
  user_agent: string | null
  detail: string | null
}

export interface Database {
  users: UsersTable
  sessions: SessionsTable
  refresh_tokens: RefreshTokensTable
  signing_keys: SigningKeysTable
  server_secrets: ServerSecretsTable
  revocations: RevocationsTable
  audit_events: AuditEventsTable
}
