import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { buildServer } from '../../src/build.js'
import { parseConfig } from '../../src/config.js'

interface Teardown { teardown (fn: () => unknown): void }

/** Cheap argon2 parameters: the tests exercise behaviour, not cost. */
export const TEST_ENV = {
  DATABASE_URL: 'sqlite::memory:',
  LOG_LEVEL: 'silent',
  ARGON2_MEMORY_COST: '8192',
  ARGON2_TIME_COST: '1'
}

/** Builds the app on an in-memory store, ready for `inject`, closed when the test ends. */
export async function build (t: Teardown, env: Record<string, string> = {}, logger?: FastifyServerOptions['logger']): Promise<FastifyInstance> {
  const config = parseConfig({ ...TEST_ENV, ...env })
  const app = await buildServer(config, { logger: logger ?? false })
  t.teardown(() => app.close())
  await app.ready()
  return app
}
