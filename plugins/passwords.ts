import fp from 'fastify-plugin'
import { createPasswordHasher, type PasswordHasher } from '../src/domain/passwords.js'

declare module 'fastify' {
  interface FastifyInstance {
    passwords: PasswordHasher
  }
}

export default fp(async function passwordsPlugin (app) {
  const passwords = createPasswordHasher(app.config.argon2)
  app.decorate('passwords', passwords)
  app.addHook('onClose', () => passwords.close())
}, { name: 'passwords', dependencies: ['config'] })
