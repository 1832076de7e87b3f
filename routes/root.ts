import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorReplies, MessageReply } from '../src/server/schemas.js'

const GUEST: Promise<undefined> = Promise.resolve(undefined)

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
    // The token is optional here, but one that is present must be valid. Not an
    // async function: authenticate's promise is handed to Fastify as it is.
    onRequest: (request, reply) => request.headers.authorization === undefined ? GUEST : app.authenticate(request, reply)
  }, (request) => {
    if (request.headers.authorization === undefined) return { message: 'Hello, guest!' }
    // Fastify sends a returned value as it sends a resolved one: a user held in memory is greeted without a promise.
    const user = app.services.currentUser(request.user.sub)
    return user instanceof Promise ? user.then(greeting) : greeting(user)
  })
}

export default root
