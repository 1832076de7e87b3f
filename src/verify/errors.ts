import createError from '@fastify/error'

// The bearer check's refusals, with the stable `code` of API.md: shared by the server and the verifier plugin.
export const MissingTokenError = createError('missing_token', 'An access token is required', 401)
export const InvalidTokenError = createError('invalid_token', 'The access token is invalid', 401)
export const ForbiddenError = createError('forbidden', 'The access token does not grant the required role', 403)
export const RevokedTokenError = createError('invalid_token', 'The access token has been revoked', 401)
export const UnknownKeyError = createError('invalid_token', 'The access token is signed by an unknown key', 401)
export const KeysUnavailableError = createError('not_ready', 'The keys that verify access tokens cannot be fetched right now', 503)
