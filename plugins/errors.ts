import type { FastifyError } from 'fastify'
import fp from 'fastify-plugin'
import { sendError } from '../src/verify/error-reply.js'

export default fp(async function errorsPlugin (app) {
  app.setErrorHandler(function handleError (error: FastifyError, request, reply) {
    return sendError(request, reply, error)
  })
}, { name: 'errors' })
