import fastifyJwt from '@fastify/jwt'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { createBearerAuth, type AuthHook, type BearerAuth, type BearerAuthOptions } from './bearer-auth.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Requires a valid access token; usable as `onRequest` or `preHandler`. */
    authenticate: AuthHook
    /** Requires a valid access token carrying every one of `roles` (403 `forbidden` otherwise). */
    authorize (...roles: string[]): AuthHook
  }
}

/** The name @fastify/jwt's own request verify is moved to, out of the way of `request.jwtVerify()`. */
export const FASTIFY_JWT_VERIFY = 'fastifyJwtVerify'

/** @fastify/jwt's key source: none, so its own verify refuses every token. */
async function noKey (): Promise<never> {
  throw new Error('gatehouse: access tokens are verified by request.jwtVerify(), app.authenticate or app.authorize')
}

/**
 * Registers `@fastify/jwt`, decorates `request.jwtVerify()` with the bearer
 * check (failures are the contract's, whatever error handler the app has),
 * and decorates `authenticate` and `authorize` with the same check.
 */
export async function registerBearerAuth (app: FastifyInstance, options: BearerAuthOptions): Promise<BearerAuth> {
  const auth = createBearerAuth(options)
  // @fastify/jwt is the JWT plugin Fastify apps know: it declares `request.user`,
  // decorates `request.jwtDecode()` and `app.jwt`, and types them all (`FastifyJWT`
  // above). Its own verify cannot be our check (no remembered tokens, its own
  // clock), and a namespace is the only way to free the `jwtVerify` name for
  // ours; so it is renamed and given no key. What remains of it, that
  // request decorator and `app.jwt.gatehouse.verify`, refuses every token.
  await app.register(fastifyJwt, {
    namespace: 'gatehouse',
    jwtVerify: FASTIFY_JWT_VERIFY,
    jwtDecode: 'jwtDecode',
    secret: { public: noKey }
  })
  // A caller's options are ignored: the checks are declared once, and no call site loosens them.
  app.decorateRequest('jwtVerify', function jwtVerify (this: FastifyRequest, ...args: unknown[]) {
    const verified = auth.verify(this)
    const callback = args.at(-1)
    if (typeof callback !== 'function') return verified
    // @fastify/jwt's callback form, as its types offer it.
    verified.then(claims => callback(null, claims), (error: unknown) => callback(error))
  })
  app.decorate('authenticate', auth.authenticate)
  app.decorate('authorize', auth.authorize)
  return auth
}
