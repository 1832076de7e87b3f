import { Type } from 'typebox'
import { MAX_EMAIL_LENGTH } from '../domain/users.js'

// Shared wire shapes of API.md, used for validation, serialisation and the OpenAPI document.

export const ErrorReply = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  code: Type.String(),
  message: Type.String()
}, { $id: 'ErrorReply', description: 'The error shape of every failure' })

export const UserReply = Type.Object({
  id: Type.String(),
  email: Type.String(),
  roles: Type.Array(Type.String()),
  created_at: Type.String({ format: 'date-time' })
})

export const TokenReply = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  expires_at: Type.Integer(),
  refresh_token: Type.String(),
  user: UserReply
})

/** Bounded here too, so nothing (a throttle key, a log line) ever holds a longer one. */
export const Email = Type.String({ maxLength: MAX_EMAIL_LENGTH, examples: ['ada@example.com'] })

export const Credentials = Type.Object({
  email: Email,
  password: Type.String({ examples: ['correct horse battery staple'] })
})

export const StatusReply = Type.Object({ status: Type.Literal('ok') })

export const MessageReply = Type.Object({ message: Type.String() })

/** Response schemas for the error statuses a route can answer. */
export function errorReplies (...statuses: number[]) {
  return Object.fromEntries(statuses.map(status => [status, ErrorReply]))
}

export const bearerSecurity = [{ bearer: [] }]
