import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { buildServer, type BuildOptions } from '../../src/server/build.js'
import { parseConfig } from '../../src/server/config.js'

interface Teardown { teardown (fn: () => unknown): void }

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

// Every plugin and route the app autoloads, imported once as the test file
// loads: compiled on the fly, the first import of them all can take longer on
// a busy machine than Fastify's plugin timeout, which it would then count against.
await Promise.all(['plugins', 'routes'].flatMap(dir =>
  readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter(file => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map(file => import(pathToFileURL(join(ROOT, dir, file)).href))))

/** Cheap argon2 parameters: the tests exercise behaviour, not cost. */
export const TEST_ENV = {
  DATABASE_URL: 'sqlite::memory:',
  LOG_LEVEL: 'silent',
  ARGON2_MEMORY_COST: '8192',
  ARGON2_TIME_COST: '1'
}

export interface BuildTestOptions extends Pick<BuildOptions, 'clock' | 'timings'> {
  logger?: FastifyServerOptions['logger']
  /** Runs before `ready()`, to add test-only routes or hooks. */
  setup?: (app: FastifyInstance) => void | Promise<void>
}

/** Builds the app on an in-memory store, ready for `inject`, closed when the test ends. */
export async function build (t: Teardown, env: Record<string, string> = {}, options: BuildTestOptions = {}): Promise<FastifyInstance> {
  const config = parseConfig({ ...TEST_ENV, ...env })
  const app = await buildServer(config, { logger: options.logger ?? false, clock: options.clock, timings: options.timings })
  t.teardown(() => app.close())
  await options.setup?.(app)
  await app.ready()
  return app
}
