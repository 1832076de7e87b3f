import fp from 'fastify-plugin'
import { createLoginThrottle, type LoginThrottle } from '../src/domain/login-throttle.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Failed password checks per (email, client address). */
    loginThrottle: LoginThrottle
  }
}

export default fp(async function loginThrottlePlugin (app) {
  app.decorate('loginThrottle', createLoginThrottle({
    maxAttempts: app.config.loginMaxAttempts,
    windowSeconds: app.config.loginWindow
  }))
}, { name: 'login-throttle', dependencies: ['config'] })
