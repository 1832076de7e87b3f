import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { callerOf } from '../../src/server/replies.js'
import { bearerSecurity, errorReplies } from '../../src/server/schemas.js'

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
    await app.services.logout(callerOf(request), { userId: request.user.sub, sessionId: request.user.sid }, request.query.scope)
    return reply.code(204).send(null)
  })
}

export default logout
