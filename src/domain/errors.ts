/**
 * A request the domain's rules refuse. Services throw these; the HTTP edge
 * (src/server/http-errors.ts) maps each kind to the contract's status and code.
 */
export class DomainError extends Error {
  override name = 'DomainError'
}

export class InvalidEmail extends DomainError {}

export class InvalidPassword extends DomainError {}

export class EmailTaken extends DomainError {}

/** A wrong email or password; `userId` names the account when the email exists (for the audit trail only). */
export class InvalidCredentials extends DomainError {
  constructor (readonly userId: string | null = null) {
    super('invalid credentials')
  }
}

/** Too many failed password checks for this (email, client) pair: try again in `retryAfter` seconds. */
export class TooManyAttempts extends DomainError {
  constructor (readonly retryAfter: number) {
    super(`retry after ${retryAfter} s`)
  }
}

/** More password hashing is waiting than the server will queue. */
export class Overloaded extends DomainError {}

export type GrantRefusal = 'unknown' | 'expired' | 'revoked' | 'reuse'

/** A refresh token that cannot be spent; `reason` is for the log and the audit trail, never the client. */
export class InvalidGrant extends DomainError {
  constructor (readonly reason: GrantRefusal) {
    super(`refresh refused: ${reason}`)
  }
}

/** The access token names an account that no longer exists. */
export class UnknownAccount extends DomainError {}

/** A resource the caller may not see, answered exactly like one that does not exist. */
export class NotFound extends DomainError {
  constructor (readonly resource: string) {
    super(`no such ${resource}`)
  }
}

/** A revocation-feed cursor this server never issued (malformed, or past the newest revocation). */
export class UnknownCursor extends DomainError {}
