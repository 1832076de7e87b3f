import fp from 'fastify-plugin'
import { pruneExpired } from '../src/domain/sessions.js'
import { runInBackground } from '../src/server/background.js'

// Dead sessions and old revocations are deleted now and then, so the store does not grow without end.
export default fp(async function pruningPlugin (app) {
  const { clock, store, timings } = app
  async function prune () {
    app.log.debug({ pruned: await pruneExpired(store.db, app.sessionRules, clock.now()) }, 'pruned expired sessions')
  }
  await prune()
  runInBackground(app, prune, {
    interval: timings.pruneInterval,
    failing: 'pruning expired sessions failed',
    recovered: 'pruning expired sessions works again'
  })
}, { name: 'pruning', dependencies: ['config', 'store', 'sessions'] })
