import type { FastifyInstance } from 'fastify'

// Every /auth/* route counts against the per-address request limit.
export default async function authHooks (app: FastifyInstance) {
  app.addHook('onRequest', app.rateLimit())
}
