import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorReplies, MessageReply } from '../src/server/schemas.js'

// The seed article's greeting: it knows the user, or says guest.
const root: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/', {
    schema: {
      summary: 'Greets the bearer of a valid token, or a guest when there is none',
      tags: ['greeting'],
      security: [{}, { bearer: [] }],
      response: { 200: MessageReply, ...errorReplies(401) }
    },
    // The token is optional here, but one that is present must be valid.
    onRequest: async (request, reply) => request.headers.authorization === undefined ? undefined : app.authenticate(request, reply)
  }, async (request) => {
    if (request.headers.authorization === undefined) return { message: 'Hello, guest!' }
    const user = await app.services.currentUser(request.user.sub)
    return { message: `Hello, ${user.email}!` }
  })
}

export default root
