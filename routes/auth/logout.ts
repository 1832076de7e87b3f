import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { bearerSecurity, errorReplies } from '../../src/server/schemas.js'
import { revokeSession, revokeUserSessions } from '../../src/domain/sessions.js'

const logout: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/logout', {
    onRequest: app.authenticate,
    schema: {
      summary: 'Revoke the caller\'s session (local), every other one (others) or all of them (global)',
      tags: ['auth'],
      security: bearerSecurity,
      querystring: Type.Object({
        scope: Type.Union([Type.Literal('local'), Type.Literal('others'), Type.Literal('global')], { default: 'local' })
      }),
      response: { 204: Type.Null(), ...errorReplies(400, 401, 429) }
    }
  }, async (request, reply) => {
    const { sub: userId, sid } = request.user
    const { scope } = request.query
    const rules = app.sessionRules
    const revoked = scope === 'local'
      ? (await revokeSession(app.store.db, rules, sid, 'logout')) ? [sid] : []
      : await revokeUserSessions(app.store.db, rules, userId, scope === 'others' ? 'logout_others' : 'logout_global', scope === 'others' ? sid : undefined)

    // The caller's session is revoked now even if another instance got there first: refuse it here at once.
    app.revocations.revokedNow(scope === 'others' ? revoked : [...revoked, sid])
    await app.audit(request, { type: 'logout', userId, sessionId: sid, reason: `scope=${scope}; revoked ${revoked.length}` })
    return reply.code(204).send(null)
  })
}

export default logout
