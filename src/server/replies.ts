import type { FastifyRequest } from 'fastify'
import type { User } from '../domain/users.js'
import type { Caller, TokenPair } from '../services/index.js'

/** The caller as the services see it: client address, user agent, and the request's logger. */
export function callerOf (request: FastifyRequest): Caller {
  return { ip: request.ip, userAgent: request.headers['user-agent'] ?? null, log: request.log }
}

/** API.md's `user`. */
export function publicUser (user: User) {
  return { id: user.id, email: user.email, roles: user.roles, created_at: new Date(user.createdAt).toISOString() }
}

/** API.md's token reply (RFC 6749 §5.1 names). */
export function tokenReply (pair: TokenPair) {
  return {
    access_token: pair.access.token,
    token_type: 'Bearer' as const,
    expires_in: pair.access.expiresIn,
    expires_at: pair.access.expiresAt,
    refresh_token: pair.refreshToken,
    user: publicUser(pair.user)
  }
}
