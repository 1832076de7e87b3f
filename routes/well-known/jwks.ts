import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'

export const prefixOverride = '/.well-known'

const Jwk = Type.Object({
  kty: Type.String(),
  crv: Type.Optional(Type.String()),
  x: Type.Optional(Type.String()),
  y: Type.Optional(Type.String()),
  kid: Type.String(),
  alg: Type.String(),
  use: Type.Literal('sig')
})

const wellKnown: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/jwks.json', {
    schema: {
      summary: 'Public keys that verify Gatehouse access tokens',
      tags: ['keys'],
      response: { 200: Type.Object({ keys: Type.Array(Jwk) }) }
    }
  }, async (_request, reply) => {
    // A minute of caching is safe: a key is published as `next` before it signs, and
    // verifiers refetch when a token names a kid they do not have.
    reply.header('cache-control', 'public, max-age=60')
    return app.signingKeys.jwks
  })
}

export default wellKnown
