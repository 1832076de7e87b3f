import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import fp from 'fastify-plugin'
import { sendError } from '../plugins/errors.js'
import gatehouseApp from './app.js'
import type { GatehouseConfig } from './config.js'
import { loggerOptions } from './logger.js'

export const BODY_LIMIT = 16 * 1024

export interface BuildOptions {
  /** Overrides the logger made from the config (tests pass a stream or `false`). */
  logger?: FastifyServerOptions['logger']
}

/** A Fastify instance carrying the whole Gatehouse app, ready to listen or inject. */
export async function buildServer (config: GatehouseConfig, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? loggerOptions(config.logLevel, process.stdout.isTTY === true),
    trustProxy: config.trustProxy === false ? false : config.trustProxy,
    bodyLimit: BODY_LIMIT,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // A password sent as a number must be refused, not turned into a string.
    ajv: { customOptions: { coerceTypes: false } },
    // Errors the router raises before any route runs get the contract's shape too.
    frameworkErrors: (error, request, reply) => sendError(request, reply, error)
  })
  // Unencapsulated, as in fastify/demo: the root instance sees the app's decorators.
  await app.register(fp(gatehouseApp, { name: 'gatehouse-app' }), { config })
  return app
}
