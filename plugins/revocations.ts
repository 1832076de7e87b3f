import fp from 'fastify-plugin'
import { RevocationList } from '../src/domain/revocations.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Revoked sessions whose access tokens may still be presented, checked on every request. */
    revocations: RevocationList
  }
}

export default fp(async function revocationsPlugin (app) {
  const { config, store, timings } = app
  const revocations = new RevocationList(store.db, config.accessTokenTtl * 1000)
  app.decorate('revocations', revocations)
  await revocations.sync()
  // Picks up revocations made by other instances sharing the store.
  const timer = setInterval(() => {
    revocations.sync().catch(err => app.log.warn({ err }, 'revocation sync failed'))
  }, timings.revocationSyncInterval)
  timer.unref()
  app.addHook('onClose', async () => { clearInterval(timer) })
}, { name: 'revocations', dependencies: ['config', 'store'] })
