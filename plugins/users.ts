import fp from 'fastify-plugin'
import { UserDirectory } from '../src/domain/user-directory.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Users by id, cached, for routes that only show them. */
    users: UserDirectory
  }
}

export default fp(async function usersPlugin (app) {
  app.decorate('users', new UserDirectory(app.store.db, { clock: app.clock }))
}, { name: 'users', dependencies: ['config', 'store'] })
