import type { FastifyServerOptions } from 'fastify'

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

export function loggerOptions (level: string, pretty: boolean): NonNullable<FastifyServerOptions['loggerInstance']> | FastifyServerOptions['logger'] {
  return {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } } : {})
  }
}
