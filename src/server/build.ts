import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { sendError } from '../verify/error-reply.js'
import gatehouseApp, { BODY_LIMIT, type AppOptions } from './app.js'
import type { GatehouseConfig } from './config.js'
import { createLogger, LevelAwareLogController, loggerOptions, requestLoggerFactory, routeLogLevels, type LoggerSettings } from './logger.js'

export { BODY_LIMIT }

export interface BuildOptions extends Pick<AppOptions, 'clock' | 'timings' | 'hashing'> {
  /** Overrides the logger made from the config (tests pass a stream, or `false` for none). */
  logger?: LoggerSettings | false
}

const CLIENT_ERRORS: Record<string, [number, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'The request took too long to arrive'],
  HPE_HEADER_OVERFLOW: [431, 'The request headers are too large']
}

/** Requests too broken for Fastify to route still get the contract's error shape. */
function replyToClientError (error: NodeJS.ErrnoException, socket: Duplex) {
  const [statusCode, message] = CLIENT_ERRORS[String(error.code)] ?? [400, 'The request is not valid HTTP']
  const body = JSON.stringify({ statusCode, error: STATUS_CODES[statusCode], code: 'invalid_request', message })
  // Node's documented guard: a reset or closed socket has no one left to answer (not reproducible in a test).
  /* c8 ignore next */
  if (error.code === 'ECONNRESET' || !socket.writable) return
  socket.end(`HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
}

/** A Fastify instance carrying the whole Gatehouse app, ready to listen or inject. */
export async function buildServer (config: GatehouseConfig, options: BuildOptions = {}): Promise<FastifyInstance> {
  const settings = options.logger ?? loggerOptions(config.logLevel, process.stdout.isTTY === true)
  const root = settings === false ? undefined : createLogger(settings)
  // Above `info` Fastify would write no request line: it gets no logger, and
  // so does no per-request logging work; requests log through `root`.
  const quiet = root !== undefined && !root.isLevelEnabled('info')
  const app = Fastify({
    ...(root === undefined ? {} : quiet ? { childLoggerFactory: requestLoggerFactory(root) } : { loggerInstance: root as FastifyBaseLogger }),
    logController: new LevelAwareLogController(),
    trustProxy: config.trustProxy === false ? false : config.trustProxy,
    bodyLimit: BODY_LIMIT,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // Errors the router raises before any route runs get the contract's shape too.
    frameworkErrors: (error, request, reply) => sendError(request, reply, error),
    clientErrorHandler: replyToClientError
  })
  if (quiet) {
    app.log = root
    app.addHook('onRoute', routeLogLevels(root))
  }
  // Unencapsulated, as in fastify/demo: the root instance sees the app's decorators.
  await app.register(fp(gatehouseApp, { name: 'gatehouse-app' }), { config, clock: options.clock, timings: options.timings, hashing: options.hashing })
  return app
}
