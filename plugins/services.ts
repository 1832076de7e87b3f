import fp from 'fastify-plugin'
import { createServices, type Services } from '../src/services/index.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The use cases routes call: each owns its whole story (checks, transaction, audit, revocation). */
    services: Services
  }
}

export default fp(async function servicesPlugin (app) {
  app.decorate('services', createServices({
    store: app.store,
    clock: app.clock,
    passwords: app.passwords,
    loginThrottle: app.loginThrottle,
    sessionRules: app.sessionRules,
    refreshKey: app.refreshKey,
    revocations: app.revocations,
    accessTokens: app.accessTokens,
    users: app.users
  }))
}, { name: 'services', dependencies: ['config', 'store', 'passwords', 'login-throttle', 'sessions', 'revocations', 'jwt', 'users'] })
