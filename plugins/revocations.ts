import fp from 'fastify-plugin'
import { RevocationList } from '../src/domain/revocations.js'
import { runInBackground } from '../src/server/background.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Revoked sessions whose access tokens may still be presented, checked on every request. */
    revocations: RevocationList
  }
}

export default fp(async function revocationsPlugin (app) {
  const { clock, config, store, timings } = app
  const revocations = new RevocationList(store.db, config.accessTokenTtl * 1000)
  app.decorate('revocations', revocations)
  await revocations.sync(clock.now())
  // Picks up revocations made by other instances sharing the store.
  runInBackground(app, () => revocations.sync(clock.now()), {
    interval: timings.revocationSyncInterval,
    failing: 'revocation sync failed; revocations made by other instances are not seen until it works again',
    recovered: 'revocation sync works again'
  })
}, { name: 'revocations', dependencies: ['config', 'store'] })
