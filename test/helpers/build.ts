import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { HashingProcess } from '../../src/domain/hashing-process.js'
import { DEFAULT_CONCURRENCY } from '../../src/domain/passwords.js'
import { buildServer, type BuildOptions } from '../../src/server/build.js'
import { parseConfig } from '../../src/server/config.js'

interface Teardown { teardown (fn: () => unknown): void }

// One password hashing process for all the apps the test files of a suite
// (one process) build, not one per app: starting a Node process costs more
// than the hashing these tests do.
// How an app starts and closes its own is tested in passwords.test.ts and
// server.test.ts, which do not use this helper.
const hashing = new HashingProcess(DEFAULT_CONCURRENCY)
t.teardown(() => hashing.close())

/** Cheap argon2 parameters: the tests exercise behaviour, not cost. */
export const TEST_ENV = {
  DATABASE_URL: 'sqlite::memory:',
  LOG_LEVEL: 'silent',
  ARGON2_MEMORY_COST: '8192',
  ARGON2_TIME_COST: '1'
}

export interface BuildTestOptions extends Pick<BuildOptions, 'clock' | 'timings' | 'logger'> {
  /** Runs before `ready()`, to add test-only routes or hooks. */
  setup?: (app: FastifyInstance) => void | Promise<void>
}

/** Builds the app on an in-memory store, ready for `inject`, closed when the test ends. */
export async function build (t: Teardown, env: Record<string, string> = {}, options: BuildTestOptions = {}): Promise<FastifyInstance> {
  const config = parseConfig({ ...TEST_ENV, ...env })
  const app = await buildServer(config, { logger: options.logger ?? false, clock: options.clock, timings: options.timings, hashing })
  t.teardown(() => app.close())
  await options.setup?.(app)
  await app.ready()
  return app
}
