import type { FastifyInstance } from 'fastify'

// Every /auth/* route counts against the per-address request limit, and no
// reply of it (tokens, personal data) may be stored by a cache.
export default async function authHooks (app: FastifyInstance) {
  app.addHook('onRequest', app.rateLimit())
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store')
  })
}
