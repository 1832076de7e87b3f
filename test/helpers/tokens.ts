import { generateKeyPairSync, randomUUID, type JsonWebKey, type KeyObject } from 'node:crypto'
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import { createSigner } from 'fast-jwt'
import gatehouse, { type AccessTokenClaims, type GatehouseOptions } from '../../src/verify/index.js'

/**
 * Tokens, keys and servers for the verifier plugin's tests: a JWKS server on
 * loopback whose keys the test controls, and a resource app that trusts it.
 */

interface Teardown { teardown (fn: () => unknown): void }

export type AsymmetricAlg = 'ES256' | 'EdDSA'

export interface TestKey {
  alg: AsymmetricAlg
  kid: string
  privateKey: KeyObject
  publicKey: KeyObject
  /** The public JWK as Gatehouse publishes it: with kid, alg and use. */
  jwk: JsonWebKey
}

export function newKey (alg: AsymmetricAlg = 'ES256', kid = randomUUID()): TestKey {
  const { privateKey, publicKey } = alg === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : generateKeyPairSync('ed25519')
  return { alg, kid, privateKey, publicKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' } }
}

export const nowSeconds = () => Math.floor(Date.now() / 1000)

/** Claims of a valid Gatehouse access token; `changes` override them (undefined removes one). */
export function accessClaims (changes: Record<string, unknown> = {}): Record<string, unknown> {
  const claims: Record<string, unknown> = {
    iss: 'gatehouse',
    aud: 'gatehouse',
    sub: 'user-1',
    iat: nowSeconds(),
    exp: nowSeconds() + 900,
    jti: randomUUID(),
    sid: 'session-1',
    roles: ['user'],
    ...changes
  }
  for (const [name, value] of Object.entries(changes)) if (value === undefined) delete claims[name]
  return claims
}

/** An access token signed the way Gatehouse signs one (fast-jwt, typ at+jwt, kid), with `changes` to its claims. */
export function signAccessToken (key: TestKey | { alg: 'HS256', secret: string | Buffer }, changes: Record<string, unknown> = {}, header: Record<string, unknown> = {}): string {
  const sign = 'secret' in key
    ? createSigner({ key: key.secret, algorithm: 'HS256', kid: 'hs256', header: { alg: 'HS256', typ: 'at+jwt', ...header } })
    : createSigner({ key: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), algorithm: key.alg, kid: key.kid, header: { alg: key.alg, typ: 'at+jwt', ...header } })
  return sign(accessClaims(changes))
}

export interface JwksServer {
  url: string
  /** Keys served; change it to publish or retire keys. */
  keys: JsonWebKey[]
  /** Requests the JWKS has answered (or been sent, when `hang` is set). */
  requests: number
  /** When set, requests get no answer until the server closes. */
  hang: boolean
  /** When set, requests get this status and an error body. */
  failWith: number | undefined
  close (): Promise<void>
}

/** A JWKS at http://127.0.0.1:<port>/.well-known/jwks.json serving `keys`, closed when the test ends. */
export async function startJwks (t: Teardown, keys: JsonWebKey[] = []): Promise<JwksServer> {
  const app = Fastify({ forceCloseConnections: true })
  const server: JwksServer = {
    url: '',
    keys,
    requests: 0,
    hang: false,
    failWith: undefined,
    close: async () => { await app.close() }
  }
  app.get('/.well-known/jwks.json', async (_request, reply) => {
    server.requests++
    if (server.hang) return reply.hijack()
    if (server.failWith !== undefined) return reply.code(server.failWith).send({ error: 'down' })
    return { keys: server.keys }
  })
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  server.url = `${address}/.well-known/jwks.json`
  t.teardown(() => app.close())
  return server
}

/** Log lines written by a Fastify logger, parsed. */
export interface LogLine { level: number, msg: string, [key: string]: unknown }

export function logCollector (): { lines: LogLine[], stream: Writable } {
  const lines: LogLine[] = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as LogLine)
      done()
    }
  })
  return { lines, stream }
}

export interface ResourceAppOptions {
  /** Where the app logs (level info and up); silent without it. */
  logStream?: Writable
}

/**
 * A resource server trusting Gatehouse tokens through the plugin, with
 * `/orders` (authenticate), `/admin` (authenticate + authorize('admin')) and
 * `/verify` (request.jwtVerify() in the handler). Closed when the test ends.
 */
export async function resourceApp (t: Teardown, options: GatehouseOptions, extra: ResourceAppOptions = {}): Promise<FastifyInstance> {
  const logger = extra.logStream === undefined ? false : { level: 'info', stream: extra.logStream }
  const app = Fastify({ logger })
  t.teardown(() => app.close())
  await app.register(gatehouse, options)
  app.get('/orders', { preHandler: app.authenticate }, async (request) => ({ sub: request.user.sub, sid: request.user.sid, roles: request.user.roles }))
  app.get('/admin', { preHandler: [app.authenticate, app.authorize('admin')] }, async () => ({ ok: true }))
  app.get('/verify', async (request) => {
    const claims = await request.jwtVerify<AccessTokenClaims>()
    return { sub: claims.sub, user: request.user.sub }
  })
  await app.ready()
  return app
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
