import createError from '@fastify/error'
import type { FastifyError } from 'fastify'
import { DomainError, EmailTaken, InvalidCredentials, InvalidEmail, InvalidGrant, InvalidPassword, NotFound, Overloaded, TooManyAttempts, UnknownAccount, UnknownCursor } from '../domain/errors.js'
import { InvalidTokenError } from '../verify/errors.js'

// The errors routes and the HTTP edge answer with, with the stable `code` of API.md
// (the bearer check's own are in src/verify/errors.ts).
export const InvalidEmailError = createError('invalid_email', 'The email address is not valid', 400)
export const InvalidPasswordError = createError('invalid_password', 'The password must be 8 to 256 characters long', 400)
export const EmailTakenError = createError('email_taken', 'An account with this email already exists', 409)
export const InvalidCredentialsError = createError('invalid_credentials', 'The email or password is incorrect', 401)
export const RateLimitedError = createError('rate_limited', 'Too many requests; retry after %s seconds', 429)
export const OverloadedError = createError('overloaded', 'The server is busy checking passwords; retry shortly', 503)
export const NotReadyError = createError('not_ready', 'The store is not answering', 503)
export const InvalidGrantError = createError('invalid_grant', 'The refresh token is invalid, expired or revoked', 401)
export const NotFoundError = createError('not_found', 'No such %s', 404)
export const InvalidRequestError = createError('invalid_request', '%s', 400)

type HttpError = FastifyError
type Mapping = [new (...args: never[]) => DomainError, (error: never) => HttpError]

// The one place where the domain's refusals become the contract's statuses and codes.
const MAPPINGS: Mapping[] = [
  [InvalidEmail, () => new InvalidEmailError()],
  [InvalidPassword, () => new InvalidPasswordError()],
  [EmailTaken, () => new EmailTakenError()],
  [InvalidCredentials, () => new InvalidCredentialsError()],
  [TooManyAttempts, (error: TooManyAttempts) => new RateLimitedError(error.retryAfter)],
  [Overloaded, () => new OverloadedError()],
  [InvalidGrant, () => new InvalidGrantError()],
  [UnknownAccount, () => new InvalidTokenError()],
  [NotFound, (error: NotFound) => new NotFoundError(error.resource)],
  [UnknownCursor, () => new InvalidRequestError('The cursor is not one this server issued')]
]

/** The contract's error for a domain refusal, and the headers its reply carries. */
export function httpErrorFor (error: DomainError): { error: HttpError, headers: Record<string, string> } {
  const headers: Record<string, string> = error instanceof TooManyAttempts ? { 'retry-after': String(error.retryAfter) } : {}
  for (const [kind, toHttp] of MAPPINGS) {
    if (error instanceof kind) return { error: (toHttp as (error: DomainError) => HttpError)(error), headers }
  } /* c8 ignore start */
  // Every DomainError subclass is mapped above; an unmapped one is a bug, answered as a 500.
  throw error
}
/* c8 ignore stop */
