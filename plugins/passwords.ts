import fp from 'fastify-plugin'
import { createPasswordHasher, type PasswordHasher } from '../src/domain/passwords.js'
import { createLoginThrottle, type LoginThrottle } from '../src/domain/login-throttle.js'

declare module 'fastify' {
  interface FastifyInstance {
    passwords: PasswordHasher
    loginThrottle: LoginThrottle
  }
}

export default fp(async function passwordsPlugin (app) {
  const passwords = createPasswordHasher(app.config.argon2)
  app.decorate('passwords', passwords)
  app.addHook('onClose', () => passwords.close())
  app.decorate('loginThrottle', createLoginThrottle({
    maxAttempts: app.config.loginMaxAttempts,
    windowSeconds: app.config.loginWindow
  }))
}, { name: 'passwords', dependencies: ['config'] })
