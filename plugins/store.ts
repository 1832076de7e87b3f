import fp from 'fastify-plugin'
import { openStore, type Store } from '../src/store/index.js'

declare module 'fastify' {
  interface FastifyInstance {
    store: Store
  }
}

export default fp(async function storePlugin (app) {
  const store = await openStore(app.config.databaseUrl)
  app.decorate('store', store)
  app.addHook('onClose', async () => { await store.close() })
}, { name: 'store', dependencies: ['config'] })
