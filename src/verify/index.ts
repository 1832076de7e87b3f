import type { JsonWebKey, KeyObject } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { Algorithm } from 'fast-jwt'
import fp from 'fastify-plugin'
import { registerBearerAuth } from './register-bearer-auth.js'
import { createJwksKeySource } from './jwks-keys.js'
import { RevocationFollower } from './revocation-follower.js'
import { RevocationSet } from './revocation-set.js'
import { publicKey, secretKey } from './static-keys.js'

export type { AccessTokenClaims } from './claims.js'
export type { AuthHook } from './bearer-auth.js'

export type GatehouseAlgorithm = 'ES256' | 'EdDSA' | 'HS256'

/** Options of the verifier plugin; give exactly one of `jwksUrl`, `secret` or `publicKey`. */
export interface GatehouseOptions {
  /** Gatehouse's `/.well-known/jwks.json`: keys are fetched, cached, and refetched when a token names an unknown `kid`. */
  jwksUrl?: string
  /** The HS256 secret shared with Gatehouse (`JWT_SECRET`), at least 32 bytes. */
  secret?: string | Buffer
  /** One ES256 (P-256) or EdDSA (Ed25519) public key: PEM, JWK or KeyObject. */
  publicKey?: string | Buffer | JsonWebKey | KeyObject
  /** Required `iss` (Gatehouse's `JWT_ISSUER`); default `gatehouse`. */
  issuer?: string
  /** Required `aud` (Gatehouse's `JWT_AUDIENCE`); default `gatehouse`. */
  audience?: string
  /** Narrows the accepted algorithms; with `jwksUrl` the default is ES256 and EdDSA. */
  algorithms?: GatehouseAlgorithm[]
  /** Leeway for `exp`, `nbf` and `iat` (ms); default 5000. */
  clockTolerance?: number
  /** Polls Gatehouse's revocation feed this often (ms) and refuses tokens of revoked sessions. */
  revocationPollInterval?: number
  /** The revocation feed; default: `revoked-sessions` beside `jwksUrl`. */
  revocationUrl?: string
  /** With `jwksUrl`: a token naming a `kid` the cached set lacks triggers a fetch at most this often (ms); default 5000. */
  jwksRefetchInterval?: number
  /** With `jwksUrl`: the whole set is read again this often in the background (ms); default 60000. */
  jwksRefreshInterval?: number
}

const ASYMMETRIC: Algorithm[] = ['ES256', 'EdDSA']

/** Node runs a timer longer than this after 1 ms instead. */
const LONGEST_TIMER = 2 ** 31 - 1

/** An interval option, checked at register: a typo must not become a timer firing every millisecond. */
function milliseconds (value: number | undefined, name: string, least: number): number | undefined {
  if (value !== undefined && !(value >= least && value <= LONGEST_TIMER)) {
    throw new Error(`gatehouse: ${name} must be a number of milliseconds from ${least} to ${LONGEST_TIMER}`)
  }
  return value
}

function keySource (app: FastifyInstance, options: GatehouseOptions) {
  const given = [options.jwksUrl, options.secret, options.publicKey].filter(v => v !== undefined).length
  if (given !== 1) throw new Error('gatehouse: give exactly one of jwksUrl, secret or publicKey')
  for (const name of ['jwksRefetchInterval', 'jwksRefreshInterval'] as const) {
    if (options[name] !== undefined && options.jwksUrl === undefined) throw new Error(`gatehouse: ${name} needs jwksUrl`)
  }

  if (options.jwksUrl !== undefined) {
    const jwks = createJwksKeySource({
      jwksUrl: options.jwksUrl,
      refetchInterval: milliseconds(options.jwksRefetchInterval, 'jwksRefetchInterval', 0),
      refreshInterval: milliseconds(options.jwksRefreshInterval, 'jwksRefreshInterval', 100),
      onAvailabilityChange: (available, err) => available
        ? app.log.info('gatehouse: JWKS reachable again')
        : app.log.warn({ err }, 'gatehouse: JWKS unreachable; verifying with the keys already fetched')
    })
    return { algorithms: ASYMMETRIC, keyFor: jwks.keyFor, jwks }
  }
  const { algorithm, key } = options.secret !== undefined ? secretKey(options.secret) : publicKey(options.publicKey as NonNullable<GatehouseOptions['publicKey']>)
  return { algorithms: [algorithm], keyFor: () => key, jwks: undefined }
}

function allowedAlgorithms (supported: Algorithm[], requested: GatehouseAlgorithm[] | undefined): Algorithm[] {
  if (requested === undefined) return supported
  // One family only: an HMAC algorithm beside a public-key one is the classic confusion attack.
  if (requested.length === 0 || !requested.every(alg => supported.includes(alg))) {
    throw new Error(`gatehouse: algorithms must be chosen from ${supported.join(', ')} for this key`)
  }
  return requested
}

function feedUrl (options: GatehouseOptions): string {
  if (options.revocationUrl !== undefined) return options.revocationUrl
  if (options.jwksUrl === undefined) throw new Error('gatehouse: revocationPollInterval needs revocationUrl when no jwksUrl is given')
  return new URL('revoked-sessions', options.jwksUrl).href
}

async function gatehouse (app: FastifyInstance, options: GatehouseOptions) {
  const source = keySource(app, options)
  // Every option is checked before the follower polls or starts its timer.
  const algorithms = allowedAlgorithms(source.algorithms, options.algorithms)
  const clockTolerance = options.clockTolerance ?? 5_000
  if (!Number.isFinite(clockTolerance) || clockTolerance < 0) throw new Error('gatehouse: clockTolerance must be a number of milliseconds')

  let follower: RevocationFollower | undefined
  if (options.revocationPollInterval !== undefined) {
    milliseconds(options.revocationPollInterval, 'revocationPollInterval', 100)
    follower = new RevocationFollower({
      url: feedUrl(options),
      clockTolerance,
      onAvailabilityChange: (available, err) => available
        ? app.log.info('gatehouse: revocation feed reachable again')
        : app.log.warn({ err }, 'gatehouse: revocation feed unreachable; keeping the last known revocations')
    })
    follower.start(options.revocationPollInterval)
    app.addHook('onClose', async () => follower?.stop())
  }
  const { jwks } = source
  if (jwks !== undefined) {
    jwks.start()
    app.addHook('onClose', async () => jwks.stop())
  }
  // Revocations and keys (the next key included) known before the first
  // request when Gatehouse answers; when it does not, start anyway and retry.
  await Promise.all([follower?.poll(), jwks?.refresh()])

  await registerBearerAuth(app, {
    algorithms,
    issuer: options.issuer ?? 'gatehouse',
    audience: options.audience ?? 'gatehouse',
    clockTolerance,
    keyFor: source.keyFor,
    // Without the feed, no session is known to be revoked.
    revoked: follower?.revoked ?? new RevocationSet()
  })
}

/** Verifies Gatehouse access tokens in any Fastify 5 app: `authenticate`, `authorize(...roles)`, `request.jwtVerify()`. */
export default fp(gatehouse, { name: 'gatehouse', fastify: '5.x' })
