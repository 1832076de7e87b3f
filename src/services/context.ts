import type { EventLog } from '../domain/audit.js'
import type { Clock } from '../domain/clock.js'
import type { LoginThrottle } from '../domain/login-throttle.js'
import type { PasswordHasher } from '../domain/passwords.js'
import type { RevocationList } from '../domain/revocations.js'
import type { SessionRules } from '../domain/sessions.js'
import type { AccessTokenIssuer, IssuedAccessToken } from '../domain/tokens.js'
import type { UserDirectory } from '../domain/user-directory.js'
import type { User } from '../domain/users.js'
import type { Store } from '../store/index.js'

/** What every use case works with; built once per app (plugins/services.ts). */
export interface ServiceContext {
  store: Store
  clock: Clock
  passwords: PasswordHasher
  loginThrottle: LoginThrottle
  sessionRules: SessionRules
  /** Server-held key that derives a refresh token's child from it. */
  refreshKey: Buffer
  /** Sessions revoked here are refused here at once, before the next sync. */
  revocations: Pick<RevocationList, 'revokedNow'>
  accessTokens: AccessTokenIssuer
  users: UserDirectory
}

/** Who is asking: recorded with audit events, and where their log lines go. */
export interface Caller {
  ip: string
  userAgent: string | null
  log: EventLog
}

/** An access token, the session's refresh token and its user: what login and refresh answer. */
export interface TokenPair {
  access: IssuedAccessToken
  refreshToken: string
  user: User
}
