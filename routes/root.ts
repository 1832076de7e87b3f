import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorReplies, MessageReply } from '../src/server/schemas.js'

function greeting (user: { email: string }) {
  return { message: `Hello, ${user.email}!` }
}

// The seed article's greeting: it knows the user, or says guest.
const root: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/', {
    schema: {
      summary: 'Greets the bearer of a valid token, or a guest when there is none',
      tags: ['greeting'],
      security: [{}, { bearer: [] }],
      response: { 200: MessageReply, ...errorReplies(401) }
    },
    // The token is optional here, but one that is present must be valid. A
    // callback hook, as authenticate is when Fastify calls it: no promise.
    onRequest: (request, reply, done) => {
      if (request.headers.authorization === undefined) done()
      else app.authenticate(request, reply, done)
    }
  }, (request) => {
    if (request.headers.authorization === undefined) return { message: 'Hello, guest!' }
    // Fastify sends a returned value as it sends a resolved one: a user held in memory is greeted without a promise.
    const user = app.services.currentUser(request.user.sub)
    return user instanceof Promise ? user.then(greeting) : greeting(user)
  })
}

export default root
