import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { callerOf, tokenReply } from '../../src/server/replies.js'
import { errorReplies, TokenReply } from '../../src/server/schemas.js'

const refresh: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/refresh', {
    schema: {
      summary: 'Spend a refresh token for a new token pair in the same session',
      tags: ['auth'],
      body: Type.Object({ refresh_token: Type.String() }),
      response: { 200: TokenReply, ...errorReplies(400, 401, 413, 415, 429) }
    }
  }, async (request) => tokenReply(await app.services.refresh(callerOf(request), request.body.refresh_token)))
}

export default refresh
