import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { callerOf, publicUser } from '../../src/server/replies.js'
import { Credentials, errorReplies, UserReply } from '../../src/server/schemas.js'

const signup: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/signup', {
    config: { overlongEmailIsInvalid: true },
    schema: {
      summary: 'Create an account',
      tags: ['auth'],
      body: Credentials,
      response: { 201: Type.Object({ user: UserReply }), ...errorReplies(400, 409, 413, 415, 429, 503) }
    }
  }, async (request, reply) => {
    const user = await app.services.signup(callerOf(request), request.body)
    return reply.code(201).send({ user: publicUser(user) })
  })
}

export default signup
