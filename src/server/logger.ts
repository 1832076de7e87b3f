import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Bindings, ChildLoggerOptions, Logger, LoggerOptions } from 'pino'

// Anything that could carry a secret, wherever a serializer or a log call might put it.
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'res.headers["set-cookie"]',
  'password', '*.password',
  'current_password', '*.current_password',
  'new_password', '*.new_password',
  'access_token', '*.access_token',
  'refresh_token', '*.refresh_token',
  'token', '*.token',
  'secret', '*.secret',
  'privateKey', '*.privateKey'
]

interface LoggedRequest {
  method: string
  url: string
  host?: string
  ip?: string
  socket?: { remotePort?: number }
}

/** Fastify's request log fields, but the query string is never logged: a client may put a token there. */
export function serializeRequest (request: LoggedRequest) {
  const queryAt = request.url.indexOf('?')
  return {
    method: request.method,
    url: queryAt === -1 ? request.url : `${request.url.slice(0, queryAt)}?[redacted]`,
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort
  }
}

export function loggerOptions (level: string, pretty: boolean): LoggerOptions {
  return {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: { req: serializeRequest },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } } : {})
  }
}

type LogMethod = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'

/**
 * A request's logger that becomes a pino child (with the request id bound)
 * only when a line at an enabled level is logged through it. Fastify makes
 * one per request; as a pino child at once it cost 7 % of a protected
 * request's CPU, mostly redaction running over the request id, for requests
 * that, below the info level, never log anything.
 */
class RequestLogger implements FastifyBaseLogger {
  readonly #parent: Logger
  readonly #makeChild: MakeChild
  readonly #bindings: Bindings
  #child: Logger | undefined

  constructor (parent: Logger, makeChild: MakeChild, bindings: Bindings) {
    this.#parent = parent
    this.#makeChild = makeChild
    this.#bindings = bindings
  }

  #logger (): Logger {
    this.#child ??= this.#makeChild.call(this.#parent, this.#bindings)
    return this.#child
  }

  #log (method: LogMethod, args: unknown[]) {
    if (this.isLevelEnabled(method)) (this.#logger()[method] as (...a: unknown[]) => void)(...args)
  }

  isLevelEnabled (level: LogMethod): boolean { return (this.#child ?? this.#parent).isLevelEnabled(level) }

  get level () { return (this.#child ?? this.#parent).level }
  set level (level: string) { this.#logger().level = level }

  fatal (...args: unknown[]) { this.#log('fatal', args) }
  error (...args: unknown[]) { this.#log('error', args) }
  warn (...args: unknown[]) { this.#log('warn', args) }
  info (...args: unknown[]) { this.#log('info', args) }
  debug (...args: unknown[]) { this.#log('debug', args) }
  trace (...args: unknown[]) { this.#log('trace', args) }
  silent () {}

  child (bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#logger().child(bindings, options)
  }
}

type MakeChild = (this: Logger, bindings: Bindings, options?: ChildLoggerOptions) => Logger

/**
 * Makes the children of a pino logger lazy (see RequestLogger): its `child`,
 * which Fastify's default child logger factory calls for every request, and
 * so its children's. A child with options of its own (a route's log level or
 * serializers) is made at once, as pino would make it. Not a
 * `childLoggerFactory`: Fastify checks what a custom factory returns on every
 * request, which cost half of what the laziness saves.
 */
export function lazyChildLoggers (logger: FastifyBaseLogger): void {
  const root = logger as Logger
  // Fastify's logger when logging is off has no levels: nothing to save.
  if (typeof root.isLevelEnabled !== 'function') return
  const makeChild = root.child as unknown as MakeChild
  root.child = function lazyChild (this: Logger, bindings: Bindings, options?: ChildLoggerOptions) {
    return options !== undefined && Object.keys(options).length > 0 ? makeChild.call(this, bindings, options) : new RequestLogger(this, makeChild, bindings)
  } as unknown as Logger['child']
}

function isLevelEnabled (log: FastifyBaseLogger, level: LogMethod): boolean {
  // Fastify's logger when logging is off has no levels, and logs nothing anyway.
  const check = (log as Partial<Pick<Logger, 'isLevelEnabled'>>).isLevelEnabled
  return check === undefined || check.call(log, level)
}

/**
 * Fastify's "incoming request" and "request completed" lines, built only when
 * their level is enabled. Fastify builds both lines' fields (and reads the
 * response time) for every request and leaves the level check to the logger;
 * above `info` (`LOG_LEVEL=warn`, say) a request now builds neither. Checked
 * per request on the logger that writes the line, so a route's own
 * `logLevel` still applies.
 */
export class LevelAwareLogController extends LogController {
  override incomingRequest (request: FastifyRequest, reply: FastifyReply, metadata?: Record<string, unknown>): void {
    if (isLevelEnabled(request.log, 'info')) super.incomingRequest(request, reply, metadata)
  }

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply, metadata?: Record<string, unknown>): void {
    if (isLevelEnabled(reply.log, error ? 'error' : 'info')) super.requestCompleted(error, request, reply, metadata)
  }
}
