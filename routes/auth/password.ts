import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { clientKey } from '../../src/domain/client-address.js'
import { InvalidCredentialsError, InvalidPasswordError, RateLimitedError } from '../../src/server/http-errors.js'
import { InvalidTokenError } from '../../src/verify/errors.js'
import { acceptablePassword } from '../../src/domain/passwords.js'
import { bearerSecurity, errorReplies } from '../../src/server/schemas.js'
import { revokeUserSessions } from '../../src/domain/sessions.js'
import { findUserById, updatePasswordHash } from '../../src/domain/users.js'

const password: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/password', {
    onRequest: app.authenticate,
    schema: {
      summary: 'Change the password: checks the current one and revokes every other session',
      tags: ['auth'],
      security: bearerSecurity,
      body: Type.Object({ current_password: Type.String(), new_password: Type.String() }),
      response: { 204: Type.Null(), ...errorReplies(400, 401, 413, 415, 429, 503) }
    }
  }, async (request, reply) => {
    const { sub: userId, sid } = request.user
    const user = await findUserById(app.store.db, userId)
    if (!user) throw new InvalidTokenError()

    const newPassword = acceptablePassword(request.body.new_password)
    if (newPassword === null) throw new InvalidPasswordError()
    // A stolen access token must not become a way to guess the password.
    const client = clientKey(request.ip)
    const retryAfter = app.loginThrottle.reserve(user.email, client)
    if (retryAfter > 0) {
      reply.header('retry-after', String(retryAfter))
      throw new RateLimitedError(retryAfter)
    }
    const current = acceptablePassword(request.body.current_password)
    let ok: boolean
    try {
      ok = current !== null && (await app.passwords.verify(user.passwordHash, current)).ok
    } catch (err) {
      app.loginThrottle.release(user.email, client)
      throw err
    }
    if (!ok) throw new InvalidCredentialsError()
    app.loginThrottle.recordSuccess(user.email, client)

    await updatePasswordHash(app.store.db, userId, await app.passwords.hash(newPassword))
    const revoked = await revokeUserSessions(app.store.db, app.sessionRules, userId, 'password_changed', sid)
    app.revocations.revokedNow(revoked)
    await app.audit(request, { type: 'password_changed', userId, sessionId: sid, reason: `revoked ${revoked.length} other sessions` })
    return reply.code(204).send(null)
  })
}

export default password
