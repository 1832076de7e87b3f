import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { callerOf } from '../../src/server/replies.js'
import { bearerSecurity, errorReplies } from '../../src/server/schemas.js'

const SessionReply = Type.Object({
  id: Type.String(),
  created_at: Type.String({ format: 'date-time' }),
  last_used_at: Type.String({ format: 'date-time' }),
  user_agent: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  current: Type.Boolean()
})

const sessions: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/sessions', {
    onRequest: app.authenticate,
    schema: {
      summary: 'The caller\'s live sessions',
      tags: ['sessions'],
      security: bearerSecurity,
      response: { 200: Type.Object({ sessions: Type.Array(SessionReply) }), ...errorReplies(401, 429) }
    }
  }, async (request) => {
    const live = await app.services.listSessions(request.user.sub)
    return {
      sessions: live.map(s => ({
        id: s.id,
        created_at: new Date(s.createdAt).toISOString(),
        last_used_at: new Date(s.lastUsedAt).toISOString(),
        user_agent: s.userAgent,
        ip: s.ip,
        current: s.id === request.user.sid
      }))
    }
  })

  app.delete('/sessions/:id', {
    onRequest: app.authenticate,
    schema: {
      summary: 'Revoke one of the caller\'s sessions',
      tags: ['sessions'],
      security: bearerSecurity,
      // No length limit: an id no session has is 404 like any other unknown id, never 400.
      params: Type.Object({ id: Type.String() }),
      response: { 204: Type.Null(), ...errorReplies(401, 404, 429) }
    }
  }, async (request, reply) => {
    await app.services.revokeOwnSession(callerOf(request), request.user.sub, request.params.id)
    return reply.code(204).send(null)
  })
}

export default sessions
