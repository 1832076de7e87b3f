import fp from 'fastify-plugin'
import { UnknownKeyError } from '../src/errors.js'
import { loadSigningKeys, type SigningKeys } from '../src/keys.js'
import { createAccessTokenIssuer, type AccessTokenIssuer } from '../src/tokens.js'
import { registerBearerAuth } from '../src/verify/bearer-auth.js'

export type { AuthHook } from '../src/verify/bearer-auth.js'

declare module 'fastify' {
  interface FastifyInstance {
    signingKeys: SigningKeys
    accessTokens: AccessTokenIssuer
  }
}

const CLOCK_TOLERANCE_SECONDS = 5

export default fp(async function jwtPlugin (app) {
  const { jwt } = app.config
  const keys = await loadSigningKeys(app.store.db, jwt)

  await registerBearerAuth(app, {
    algorithms: [keys.algorithm],
    issuer: jwt.issuer,
    audience: jwt.audience,
    clockToleranceSeconds: CLOCK_TOLERANCE_SECONDS,
    keyFor: ({ kid }) => {
      const key = keys.verificationKey(kid)
      if (key === undefined) throw new UnknownKeyError()
      return key
    },
    isRevoked: (sid) => app.revocations.has(sid)
  })

  app.decorate('signingKeys', keys)
  app.decorate('accessTokens', createAccessTokenIssuer(keys, { issuer: jwt.issuer, audience: jwt.audience, ttl: app.config.accessTokenTtl }))
}, { name: 'jwt', dependencies: ['config', 'store', 'sessions'] })
