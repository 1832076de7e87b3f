import type { FastifyError } from 'fastify'
import fp from 'fastify-plugin'
import { DomainError } from '../src/domain/errors.js'
import { httpErrorFor, InvalidEmailError } from '../src/server/http-errors.js'
import { sendError } from '../src/verify/error-reply.js'

/** A body whose email field fails its schema (too long, say) is an invalid email, as API.md's signup promises. */
function isEmailValidation (error: FastifyError): boolean {
  return error.validationContext === 'body' && error.validation?.[0]?.instancePath === '/email'
}

export default fp(async function errorsPlugin (app) {
  app.setErrorHandler(function handleError (error: FastifyError | DomainError, request, reply) {
    if (error instanceof DomainError) {
      const mapped = httpErrorFor(error)
      reply.headers(mapped.headers)
      return sendError(request, reply, mapped.error)
    }
    return sendError(request, reply, isEmailValidation(error) ? new InvalidEmailError() : error)
  })
}, { name: 'errors' })
