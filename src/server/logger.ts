import { errorCodes, LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest, type FastifyServerOptions, type RouteOptions } from 'fastify'
import { pino, type Bindings, type ChildLoggerOptions, type DestinationStream, type Logger, type LoggerOptions } from 'pino'

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

/** Pino's options, and where the lines go (stdout when absent), as Fastify's `logger` option takes them. */
export type LoggerSettings = LoggerOptions & { stream?: DestinationStream }

/**
 * The server's root logger, with the serializers Fastify gives its own (`res`,
 * `err`) beside ours, whose children are lazy (see lazyChildLoggers): a
 * request's pino child is made only if the request logs something.
 */
export function createLogger ({ stream, ...options }: LoggerSettings): Logger {
  const withSerializers: LoggerOptions = {
    ...options,
    serializers: { res: (reply: FastifyReply) => ({ statusCode: reply.statusCode }), err: pino.stdSerializers.err, ...options.serializers }
  }
  const root = stream === undefined ? pino(withSerializers) : pino(withSerializers, stream)
  lazyChildLoggers(root)
  return root
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
 * serializers) is made at once, as pino would make it.
 */
export function lazyChildLoggers (root: Logger): void {
  const makeChild = root.child as unknown as MakeChild
  root.child = function lazyChild (this: Logger, bindings: Bindings, options?: ChildLoggerOptions) {
    return options !== undefined && Object.keys(options).length > 0 ? makeChild.call(this, bindings, options) : new RequestLogger(this, makeChild, bindings)
  } as unknown as Logger['child']
}

/**
 * Request loggers for a Fastify built without a logger of its own, which is
 * how Gatehouse serves when its level is above `info`: Fastify then writes
 * no request lines, and with no logger it also skips its per-request logging
 * work (response listeners, timing): 1.7 % of a protected request's
 * instructions (`npm run bench:instructions`: 74,267 with it, 72,993 without).
 * Each request still gets a (lazy) child of `root`.
 *
 * What goes with the listeners: Fastify's "request errored" line for a
 * reply stream that fails after the handler has answered (a socket error
 * mid-write), which it would write at `error`; and, for the 404 and
 * router-error contexts, which no onRoute hook reaches, the "request
 * completed" line of a plugin registered with its own `logLevel` of `info`.
 * Errors a route or hook throws are still logged (see verify/error-reply).
 */
export function requestLoggerFactory (root: Logger): NonNullable<FastifyServerOptions['childLoggerFactory']> {
  return (_parent, bindings, options) => root.child(bindings, options)
}

/**
 * For a Fastify served without a logger of its own (see requestLoggerFactory):
 * checks each route's `logLevel`, which Fastify checks only against a logger
 * it has; and gives a route whose level writes request lines an empty
 * onResponse hook. Fastify calls the log controller's `requestCompleted` from
 * response listeners it sets up only when it has a logger or the route has
 * such a hook: the route then keeps its "request completed" line.
 */
export function routeLogLevels (root: Logger) {
  const { values } = root.levels
  return (route: RouteOptions) => {
    // As Fastify: no level, or an empty one, is the parent's.
    if (!route.logLevel) return
    const level = values[route.logLevel]
    if (level === undefined) throw new errorCodes.FST_ERR_ROUTE_LOG_LEVEL_INVALID(route.method, route.url, route.logLevel)
    if (level > (values.info as number)) return
    const hooks = route.onResponse === undefined ? [] : Array.isArray(route.onResponse) ? route.onResponse : [route.onResponse]
    route.onResponse = [...hooks, function writesCompletedLine (_request, _reply, done) { done() }]
  }
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
