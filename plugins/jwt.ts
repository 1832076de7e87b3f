import fp from 'fastify-plugin'
import { UnknownKeyError } from '../src/verify/errors.js'
import { loadSigningKeys, type SigningKeys } from '../src/domain/keys.js'
import { createAccessTokenIssuer, type AccessTokenIssuer } from '../src/domain/tokens.js'
import { runInBackground } from '../src/server/background.js'
import { registerBearerAuth } from '../src/verify/register-bearer-auth.js'

export type { AuthHook } from '../src/verify/bearer-auth.js'

declare module 'fastify' {
  interface FastifyInstance {
    signingKeys: SigningKeys
    accessTokens: AccessTokenIssuer
  }
}

// The contract: the server refuses its own access tokens from exp on, allowing
// at most 1 s of clock difference between the instances that share its keys.
const CLOCK_TOLERANCE_MS = 1_000

export default fp(async function jwtPlugin (app) {
  const { jwt } = app.config
  const keys = await loadSigningKeys(app.store.db, { ...jwt, accessTokenTtl: app.config.accessTokenTtl, clock: app.clock })

  // An unknown kid may be a key another instance has just rotated in: look in the store (rate-limited) before refusing.
  async function lookUpUnknownKid (kid: string) {
    const key = await keys.lookup(kid)
    if (key === undefined) throw new UnknownKeyError()
    return key
  }

  await registerBearerAuth(app, {
    algorithms: [keys.algorithm],
    issuer: jwt.issuer,
    audience: jwt.audience,
    clockTolerance: CLOCK_TOLERANCE_MS,
    keyFor: ({ kid }) => keys.verificationKey(kid) ?? lookUpUnknownKid(kid),
    revoked: app.revocations.revoked,
    now: () => app.clock.now()
  })

  // Picks up keys rotated by an operator or another instance sharing the store, without a restart.
  runInBackground(app, () => keys.reload(), {
    interval: app.timings.keyReloadInterval,
    failing: 'signing key reload failed; the keys loaded before stay in use',
    recovered: 'signing key reload works again'
  })

  app.decorate('signingKeys', keys)
  app.decorate('accessTokens', createAccessTokenIssuer(keys, { issuer: jwt.issuer, audience: jwt.audience, ttl: app.config.accessTokenTtl }))
}, { name: 'jwt', dependencies: ['config', 'store', 'revocations'] })
