import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { errorReplies } from '../../src/server/schemas.js'

export const prefixOverride = '/.well-known'

const revokedSessions: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/revoked-sessions', {
    schema: {
      summary: 'Sessions revoked since a cursor whose access tokens may still be unexpired',
      tags: ['keys'],
      querystring: Type.Object({ since: Type.Optional(Type.String({ maxLength: 32 })) }),
      response: {
        200: Type.Object({
          sessions: Type.Array(Type.Object({ sid: Type.String(), exp: Type.Integer() })),
          cursor: Type.String()
        }),
        ...errorReplies(400)
      }
    }
  }, async (request, reply) => {
    const page = await app.services.revocationFeed(request.query.since)
    reply.header('cache-control', 'no-store')
    return page
  })
}

export default revokedSessions
