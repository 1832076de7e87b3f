import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { callerOf } from '../../src/server/replies.js'
import { bearerSecurity, errorReplies } from '../../src/server/schemas.js'

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
    await app.services.changePassword(callerOf(request), { userId: request.user.sub, sessionId: request.user.sid }, {
      currentPassword: request.body.current_password,
      newPassword: request.body.new_password
    })
    return reply.code(204).send(null)
  })
}

export default password
