import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { createServices, type ServiceContext, type Services } from '../src/services/index.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The use cases routes call: each owns its whole story (checks, transaction, audit, revocation). */
    services: Services
  }
}

/** The parts of a ready app the use cases work with. */
export function serviceContext (app: FastifyInstance): ServiceContext {
  return {
    store: app.store,
    clock: app.clock,
    passwords: app.passwords,
    loginThrottle: app.loginThrottle,
    sessionRules: app.sessionRules,
    refreshKey: app.refreshKey,
    revocations: app.revocations,
    accessTokens: app.accessTokens,
    users: app.users
  }
}

export default fp(async function servicesPlugin (app) {
  app.decorate('services', createServices(serviceContext(app)))
}, { name: 'services', dependencies: ['config', 'store', 'passwords', 'login-throttle', 'sessions', 'revocations', 'jwt', 'users'] })
