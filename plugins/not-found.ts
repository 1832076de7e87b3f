import fp from 'fastify-plugin'
import { sendError } from '../src/verify/error-reply.js'

interface KnownRoute { pattern: RegExp, methods: Set<string> }

function toPattern (url: string): RegExp {
  const escaped = url.split('/').map(part => part.startsWith(':')
    ? '[^/]+'
    : part === '*' ? '.*' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
  return new RegExp(`^${escaped.join('/')}$`)
}

/** 404 for unknown paths and 405 (with `Allow`) for known paths asked with another method. */
export default fp(async function notFoundPlugin (app) {
  const routes = new Map<string, KnownRoute>()
  app.addHook('onRoute', (route) => {
    const known = routes.get(route.url) ?? { pattern: toPattern(route.url), methods: new Set<string>() }
    for (const method of [route.method].flat()) known.methods.add(method)
    routes.set(route.url, known)
  })

  app.setNotFoundHandler(function notFound (request, reply) {
    const path = request.url.replace(/\?.*$/, '')
    const allowed = new Set<string>()
    for (const route of routes.values()) {
      if (route.pattern.test(path)) for (const method of route.methods) allowed.add(method)
    }
    if (allowed.size > 0) {
      reply.header('allow', [...allowed].join(', '))
      return sendError(request, reply, Object.assign(new Error(`${request.method} is not allowed here`), { statusCode: 405, code: 'method_not_allowed', name: 'MethodNotAllowed' }))
    }
    return sendError(request, reply, Object.assign(new Error('No such endpoint'), { statusCode: 404, code: 'not_found', name: 'NotFound' }))
  })
}, { name: 'not-found', dependencies: ['errors'] })
