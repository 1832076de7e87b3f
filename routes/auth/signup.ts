import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { Credentials, errorReplies, UserReply } from '../../src/server/schemas.js'
import { createUser, publicUser } from '../../src/domain/users.js'

const signup: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/signup', {
    schema: {
      summary: 'Create an account',
      tags: ['auth'],
      body: Credentials,
      response: { 201: Type.Object({ user: UserReply }), ...errorReplies(400, 409, 413, 415, 429, 503) }
    }
  }, async (request, reply) => {
    const user = await createUser(app.store.db, app.passwords, request.body.email, request.body.password)
    return reply.code(201).send({ user: publicUser(user) })
  })
}

export default signup
