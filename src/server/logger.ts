import type { LoggerOptions } from 'pino'

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
