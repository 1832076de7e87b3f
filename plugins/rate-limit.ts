import rateLimit from '@fastify/rate-limit'
import fp from 'fastify-plugin'
import { clientKey } from '../src/domain/client-address.js'
import { RateLimitedError } from '../src/server/http-errors.js'

// Registered without a global limit: routes/auth/autohooks.ts applies it to /auth/*.
export default fp(async function rateLimitPlugin (app) {
  await app.register(rateLimit, {
    global: false,
    max: app.config.rateLimitMax,
    timeWindow: 60_000,
    // request.ip is the socket address unless TRUST_PROXY names the proxy it came through.
    keyGenerator: (request) => clientKey(request.ip),
    errorResponseBuilder: (_request, context) => new RateLimitedError(Math.ceil(context.ttl / 1000))
  })
}, { name: 'rate-limit', dependencies: ['config'] })
