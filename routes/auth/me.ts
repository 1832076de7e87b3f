import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { InvalidTokenError } from '../../src/verify/errors.js'
import { bearerSecurity, errorReplies, UserReply } from '../../src/server/schemas.js'
import { publicUser } from '../../src/domain/users.js'

const me: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/me', {
    onRequest: app.authenticate,
    schema: {
      summary: 'The user the access token belongs to',
      tags: ['auth'],
      security: bearerSecurity,
      response: { 200: Type.Object({ user: UserReply }), ...errorReplies(401, 429) }
    }
  }, async (request) => {
    const user = await app.users.find(request.user.sub)
    // A token can outlive its account; it is no longer valid then.
    if (!user) throw new InvalidTokenError()
    return { user: publicUser(user) }
  })
}

export default me
