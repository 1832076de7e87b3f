import fastifyJwt from '@fastify/jwt'
import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { ForbiddenError, InvalidTokenError, MissingTokenError, RevokedTokenError } from '../src/errors.js'
import { loadSigningKeys, type SigningKeys } from '../src/keys.js'
import { ACCESS_TOKEN_TYPE, createAccessTokenIssuer, hasValidClaimShape, type AccessTokenClaims, type AccessTokenIssuer } from '../src/tokens.js'

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: AccessTokenClaims
    user: AccessTokenClaims
  }
}

export type AuthHook = (request: FastifyRequest) => Promise<void>

declare module 'fastify' {
  interface FastifyInstance {
    signingKeys: SigningKeys
    accessTokens: AccessTokenIssuer
    /** Requires a valid access token; usable as `onRequest` or `preHandler`. */
    authenticate: AuthHook
    /** Requires a valid access token carrying every one of `roles`. */
    authorize (...roles: string[]): AuthHook
  }
  interface FastifyRequest {
    /** True once `authenticate` has accepted the request's token. */
    authenticated: boolean
  }
}

const CLOCK_TOLERANCE_SECONDS = 5
// Scheme case-insensitive, one space, then three base64url parts: padding,
// whitespace or anything else makes the header malformed.
const BEARER = /^bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/i

export default fp(async function jwtPlugin (app) {
  const { jwt } = app.config
  const keys = await loadSigningKeys(app.store.db, jwt)

  await app.register(fastifyJwt, {
    secret: {
      private: keys.signing.key,
      // The key comes from our own key ring by `kid`; a token can never supply it.
      public: async (_request: FastifyRequest, token: unknown) => {
        const kid = (token as { header?: { kid?: unknown } }).header?.kid
        const key = typeof kid === 'string' ? keys.verificationKey(kid) : undefined
        if (key === undefined) throw new InvalidTokenError()
        return key
      }
    },
    decode: { complete: true },
    verify: {
      algorithms: [keys.algorithm],
      allowedIss: jwt.issuer,
      allowedAud: jwt.audience,
      checkTyp: ACCESS_TOKEN_TYPE,
      requiredClaims: ['iss', 'aud', 'sub', 'iat', 'exp', 'jti', 'sid'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS * 1000
    }
  })

  app.decorate('signingKeys', keys)
  app.decorate('accessTokens', createAccessTokenIssuer(keys, { issuer: jwt.issuer, audience: jwt.audience, ttl: app.config.accessTokenTtl }))
  app.decorateRequest('authenticated', false)

  async function authenticate (request: FastifyRequest): Promise<void> {
    if (request.authenticated) return
    const header = request.headers.authorization
    if (header === undefined) throw new MissingTokenError()
    if (!BEARER.test(header)) throw new InvalidTokenError()

    let claims: unknown
    try {
      claims = await request.jwtVerify()
    } catch {
      // Whatever fast-jwt or a key lookup threw, the client sent a bad token.
      throw new InvalidTokenError()
    }
    if (!hasValidClaimShape(claims, Math.floor(Date.now() / 1000), CLOCK_TOLERANCE_SECONDS)) throw new InvalidTokenError()
    // In memory: revocation bites at once without a store read per request.
    if (app.revocations.has(claims.sid)) throw new RevokedTokenError()
    request.authenticated = true
  }

  app.decorate('authenticate', authenticate)
  app.decorate('authorize', function authorize (...roles: string[]): AuthHook {
    return async function authorizeRoles (request) {
      await authenticate(request)
      const granted = request.user.roles
      if (!roles.every(role => granted.includes(role))) throw new ForbiddenError()
    }
  })
}, { name: 'jwt', dependencies: ['config', 'store', 'sessions'] })
