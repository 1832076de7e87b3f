import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { clientKey } from '../../src/domain/client-address.js'
import { checkCredentials, CredentialsRefused } from '../../src/domain/credentials.js'
import { RateLimitedError } from '../../src/server/http-errors.js'
import { Credentials, errorReplies, TokenReply } from '../../src/server/schemas.js'
import { openSession } from '../../src/domain/sessions.js'
import { normalizeEmail, publicUser } from '../../src/domain/users.js'

const login: FastifyPluginAsyncTypebox = async (app) => {
  const { loginThrottle } = app

  app.post('/login', {
    schema: {
      summary: 'Log in: check the password, open a session and issue a token pair',
      tags: ['auth'],
      body: Credentials,
      response: { 200: TokenReply, ...errorReplies(400, 401, 413, 415, 429, 503) }
    }
  }, async (request, reply) => {
    const { email, password } = request.body
    const throttleKey = normalizeEmail(email) ?? email.trim().toLowerCase()
    const client = clientKey(request.ip)
    const retryAfter = loginThrottle.reserve(throttleKey, client)
    if (retryAfter > 0) {
      reply.header('retry-after', String(retryAfter))
      throw new RateLimitedError(retryAfter)
    }

    let user
    try {
      user = await checkCredentials(app.store.db, app.passwords, email, password)
    } catch (err) {
      if (!(err instanceof CredentialsRefused)) {
        loginThrottle.release(throttleKey, client)
        throw err
      }
      await app.audit(request, { type: 'login_failed', userId: err.userId, sessionId: null, reason: err.userId ? 'wrong password' : 'unknown email' })
      throw err
    }
    loginThrottle.recordSuccess(throttleKey, client)

    const session = await openSession(app.store.db, app.sessionRules, user.id, {
      ip: request.ip,
      userAgent: request.headers['user-agent'] ?? null
    })
    const access = app.accessTokens.issue({ userId: user.id, sessionId: session.sessionId, roles: user.roles })
    await app.audit(request, { type: 'login_succeeded', userId: user.id, sessionId: session.sessionId, reason: null })

    return {
      access_token: access.token,
      token_type: 'Bearer' as const,
      expires_in: access.expiresIn,
      expires_at: access.expiresAt,
      refresh_token: session.refreshToken,
      user: publicUser(user)
    }
  })
}

export default login
