import fp from 'fastify-plugin'
import { pruneExpired } from '../src/domain/sessions.js'

// Dead sessions and old revocations are deleted now and then, so the store does not grow without end.
export default fp(async function pruningPlugin (app) {
  const { store, timings } = app
  async function prune () {
    app.log.debug({ pruned: await pruneExpired(store.db, app.sessionRules, app.clock.now()) }, 'pruned expired sessions')
  }
  await prune()
  const timer = setInterval(() => {
    prune().catch(err => app.log.warn({ err }, 'pruning expired sessions failed'))
  }, timings.pruneInterval)
  timer.unref()
  app.addHook('onClose', async () => { clearInterval(timer) })
}, { name: 'pruning', dependencies: ['config', 'store', 'sessions'] })
