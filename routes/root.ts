import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { InvalidTokenError } from '../src/errors.js'
import { errorReplies, MessageReply } from '../src/schemas.js'
import { findUserById } from '../src/users.js'

// The seed article's greeting: it knows the user, or says guest.
const root: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/', {
    schema: {
      summary: 'Greets the bearer of a valid token, or a guest when there is none',
      tags: ['greeting'],
      security: [{}, { bearer: [] }],
      response: { 200: MessageReply, ...errorReplies(401) }
    }
  }, async (request, reply) => {
    if (request.headers.authorization === undefined) return { message: 'Hello, guest!' }
    if (await app.authenticate(request, reply) !== undefined) return reply
    const user = await findUserById(app.store.db, request.user.sub)
    if (!user) throw new InvalidTokenError()
    return { message: `Hello, ${user.email}!` }
  })
}

export default root
