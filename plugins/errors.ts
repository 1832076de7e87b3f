import type { FastifyError, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { DomainError } from '../src/domain/errors.js'
import { httpErrorFor, InvalidEmailError } from '../src/server/http-errors.js'
import { sendError } from '../src/verify/error-reply.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** On routes that create or change an address: an email over the schema's length is `invalid_email`, not `invalid_request`. */
    overlongEmailIsInvalid?: boolean
  }
}

/** An email string longer than any address can be, where API.md promises invalid_email for it (a non-string stays invalid_request). */
function isOverlongEmail (error: FastifyError, request: FastifyRequest): boolean {
  const first = error.validation?.[0]
  return request.routeOptions.config.overlongEmailIsInvalid === true && first?.instancePath === '/email' && first.keyword === 'maxLength'
}

export default fp(async function errorsPlugin (app) {
  app.setErrorHandler(function handleError (error: FastifyError | DomainError, request, reply) {
    if (error instanceof DomainError) {
      const mapped = httpErrorFor(error)
      reply.headers(mapped.headers)
      return sendError(request, reply, mapped.error)
    }
    return sendError(request, reply, isOverlongEmail(error, request) ? new InvalidEmailError() : error)
  })
}, { name: 'errors' })
