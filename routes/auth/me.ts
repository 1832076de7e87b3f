import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { bearerSecurity, errorReplies, UserReply } from '../../src/server/schemas.js'
import { publicUser } from '../../src/server/replies.js'

const me: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/me', {
    onRequest: app.authenticate,
    schema: {
      summary: 'The user the access token belongs to',
      tags: ['auth'],
      security: bearerSecurity,
      response: { 200: Type.Object({ user: UserReply }), ...errorReplies(401, 429) }
    }
  }, async (request) => ({ user: publicUser(await app.services.currentUser(request.user.sub)) }))
}

export default me
