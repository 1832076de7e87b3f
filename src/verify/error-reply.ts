import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'

const CONTRACT_CODES = new Set([
  'invalid_request', 'invalid_email', 'invalid_password', 'email_taken', 'invalid_credentials',
  'invalid_grant', 'missing_token', 'invalid_token', 'forbidden', 'not_found', 'method_not_allowed',
  'payload_too_large', 'unsupported_media_type', 'rate_limited', 'overloaded', 'not_ready', 'internal_error'
])

// Fastify's own client errors, reworded: their messages can quote the body
// (JSON.parse does on Node 20), so none is passed through.
const FRAMEWORK_ERRORS: Record<string, [number, string, string]> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'unsupported_media_type', 'Request bodies must be application/json'],
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'payload_too_large', 'The request body is too large'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'invalid_request', 'The Content-Length header does not match the body'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'invalid_request', 'The request body is empty'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'invalid_request', 'The request body is not valid JSON'],
  FST_ERR_BAD_URL: [400, 'invalid_request', 'The URL is not valid'],
  FST_ERR_ASYNC_CONSTRAINT: [400, 'invalid_request', 'The request does not match any route constraint'],
  // No resource has a path parameter that long.
  FST_ERR_MAX_PARAM_LENGTH: [404, 'not_found', 'No such endpoint']
}

const REALM = 'Bearer realm="gatehouse"'

export interface ErrorBody {
  statusCode: number
  error: string
  code: string
  message: string
}

function codeForStatus (statusCode: number): string {
  switch (statusCode) {
    case 400: return 'invalid_request'
    case 401: return 'invalid_token'
    case 403: return 'forbidden'
    case 404: return 'not_found'
    case 405: return 'method_not_allowed'
    case 413: return 'payload_too_large'
    case 415: return 'unsupported_media_type'
    case 429: return 'rate_limited'
    default: return 'invalid_request'
  }
}

/** Maps any error to the contract's status, code and a message safe to show. */
export function toErrorBody (error: FastifyError): ErrorBody {
  let statusCode: number
  let code: string
  let message: string

  const framework = FRAMEWORK_ERRORS[error.code]
  // @fastify/error upper-cases codes; the contract's are lower-case.
  const contractCode = typeof error.code === 'string' ? error.code.toLowerCase() : ''
  if (error.validation) {
    statusCode = 400
    code = 'invalid_request'
    const first = error.validation[0]
    const where = `${error.validationContext ?? 'request'}${first?.instancePath ?? ''}`
    message = first ? `${where} ${first.message ?? 'is invalid'}` : 'The request is invalid'
  } else if (framework) {
    [statusCode, code, message] = framework
  } else if (CONTRACT_CODES.has(contractCode) && error.statusCode) {
    statusCode = error.statusCode
    code = contractCode
    message = error.message
  } else if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    statusCode = error.statusCode
    code = codeForStatus(statusCode)
    // Body parser failures (bad JSON, prototype poisoning) carry the body in their message.
    message = statusCode === 400 ? 'The request is invalid' : (STATUS_CODES[statusCode] ?? 'Request failed')
  } else {
    statusCode = 500
    code = 'internal_error'
    message = 'Something went wrong on our side'
  }
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', code, message }
}

/** The headers a reply with this body carries: the RFC 6750 challenge, `Retry-After` on 503. */
export function errorHeaders (body: ErrorBody): Record<string, string> {
  const headers: Record<string, string> = {}
  const challenge = authenticateHeader(body)
  if (challenge) headers['www-authenticate'] = challenge
  if (body.statusCode === 503) headers['retry-after'] = '1'
  return headers
}

/**
 * The error as an object any Fastify error handler, the default one
 * included, turns into the contract's reply: lower-case `code`, safe
 * `message`, and the headers in `headers`.
 */
export function contractError (error: FastifyError): FastifyError & { headers: Record<string, string> } {
  const body = toErrorBody(error)
  return Object.assign(new Error(body.message), { name: 'GatehouseError', statusCode: body.statusCode, code: body.code, headers: errorHeaders(body) })
}

function authenticateHeader (body: ErrorBody): string | undefined {
  switch (body.code) {
    case 'missing_token': return REALM
    case 'invalid_token': return `${REALM}, error="invalid_token", error_description="${body.message.replace(/"/g, "'")}"`
    case 'forbidden': return `${REALM}, error="insufficient_scope"`
    default: return undefined
  }
}

export function sendError (request: FastifyRequest, reply: FastifyReply, error: FastifyError): FastifyReply {
  const body = toErrorBody(error)
  if (body.statusCode >= 500 && body.code !== 'overloaded' && body.code !== 'not_ready') {
    request.log.error({ err: error }, 'request failed')
  } else {
    request.log.info({ statusCode: body.statusCode, code: body.code }, body.message)
  }
  reply.headers(errorHeaders(body))
  return reply.code(body.statusCode).type('application/json; charset=utf-8').send(body)
}
