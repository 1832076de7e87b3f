import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { AjvCompiler } from '@fastify/ajv-compiler'
import autoload from '@fastify/autoload'
import type { FastifyInstance } from 'fastify'
import type { Clock } from '../domain/clock.js'
import type { HashingProcess } from '../domain/hashing-process.js'
import type { GatehouseConfig } from './config.js'
import type { Timings } from './timings.js'

export interface AppOptions {
  config: GatehouseConfig
  /** Defaults to the system clock. */
  clock?: Clock
  /** Overrides some of the production intervals (tests shorten them). */
  timings?: Partial<Timings>
  /** A password hashing process shared by several apps (tests build many); by default the app starts and closes its own. */
  hashing?: HashingProcess
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

export const BODY_LIMIT = 16 * 1024

// Fastify's own Ajv settings, without type coercion: a password sent as a
// number is refused, not turned into a string. Set here rather than on the
// server so an app that mounts Gatehouse validates exactly the same way.
const buildValidator = AjvCompiler()({}, { customOptions: { coerceTypes: false } })

/** The Gatehouse app: every plugin in plugins/ and every route in routes/. */
export default async function gatehouseApp (app: FastifyInstance, opts: AppOptions) {
  app.setValidatorCompiler(buildValidator)
  app.addHook('onRoute', (route) => { route.bodyLimit ??= BODY_LIMIT })

  // JSON only: other media types get 415. An empty JSON body counts as no body,
  // so clients that always send the header can still call body-less routes.
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '' || body.length === 0) done(null, undefined)
    else parseJson(request, body.toString(), done)
  })

  await app.register(autoload, {
    dir: join(root, 'plugins'),
    options: { config: opts.config, clock: opts.clock, timings: opts.timings, hashing: opts.hashing },
    ignorePattern: /\.d\.ts$/
  })
  await app.register(autoload, {
    dir: join(root, 'routes'),
    autoHooks: true,
    cascadeHooks: true,
    ignorePattern: /\.d\.ts$/
  })
}
