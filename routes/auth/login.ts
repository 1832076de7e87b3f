import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { callerOf, tokenReply } from '../../src/server/replies.js'
import { Credentials, errorReplies, TokenReply } from '../../src/server/schemas.js'

const login: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/login', {
    schema: {
      summary: 'Log in: check the password, open a session and issue a token pair',
      tags: ['auth'],
      body: Credentials,
      response: { 200: TokenReply, ...errorReplies(400, 401, 413, 415, 429, 503) }
    }
  }, async (request) => tokenReply(await app.services.login(callerOf(request), request.body)))
}

export default login
