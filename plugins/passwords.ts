import fp from 'fastify-plugin'
import type { HashingProcess } from '../src/domain/hashing-process.js'
import { createPasswordHasher, type PasswordHasher } from '../src/domain/passwords.js'

declare module 'fastify' {
  interface FastifyInstance {
    passwords: PasswordHasher
  }
}

export interface PasswordsPluginOptions {
  /** A hashing process shared with other apps, which this app leaves running when it closes. */
  hashing?: HashingProcess
}

export default fp<PasswordsPluginOptions>(async function passwordsPlugin (app, opts) {
  const passwords = createPasswordHasher(app.config.argon2, { hashing: opts.hashing })
  app.decorate('passwords', passwords)
  app.addHook('onClose', () => passwords.close())
}, { name: 'passwords', dependencies: ['config'] })
