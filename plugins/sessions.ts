import fp from 'fastify-plugin'
import { loadRefreshKey, type SessionRules } from '../src/domain/sessions.js'

declare module 'fastify' {
  interface FastifyInstance {
    sessionRules: SessionRules
    /** Server-held key that derives a refresh token's child from it. */
    refreshKey: Buffer
  }
}

export default fp(async function sessionsPlugin (app) {
  const { config, store } = app
  app.decorate('sessionRules', {
    refreshTokenTtl: config.refreshTokenTtl,
    sessionMaxAge: config.sessionMaxAge,
    refreshReuseInterval: config.refreshReuseInterval,
    accessTokenTtl: config.accessTokenTtl
  })
  app.decorate('refreshKey', await loadRefreshKey(store.db, app.clock.now()))
}, { name: 'sessions', dependencies: ['config', 'store'] })
