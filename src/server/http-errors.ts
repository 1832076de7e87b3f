import createError from '@fastify/error'

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
