import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { InvalidRequestError } from '../../src/server/http-errors.js'
import { latestRevocation, parseCursor, revocationsSince } from '../../src/domain/revocations.js'
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
    const since = parseCursor(request.query.since)
    // A cursor past the newest revocation was not issued here; following it would miss revocations silently.
    if (since === null || since > await latestRevocation(app.store.db)) throw new InvalidRequestError('The cursor is not one this server issued')
    reply.header('cache-control', 'no-store')
    return revocationsSince(app.store.db, since, app.clock.now())
  })
}

export default revokedSessions
