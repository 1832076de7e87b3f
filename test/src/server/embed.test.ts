import Fastify, { type FastifyInstance } from 'fastify'
import { test } from 'tap'
import { join } from 'node:path'
import gatehouse from '../../../src/verify/index.js'
import gatehouseServer, {
  ConfigError, configFromOptions, NEXT_KEY_MIN_AGE_MS, rotateSigningKeys, type GatehouseServerOptions, type GatehouseServerSettings
} from '../../../src/server/embed.js'
import { openStore } from '../../../src/store/index.js'
import { TEST_ENV } from '../../helpers/build.js'
import { bearer } from '../../helpers/tokens.js'

// 'gatehouse/server': the whole auth server mounted inside a host app under a prefix.

interface Teardown { teardown (fn: () => unknown): void }

const CHEAP: GatehouseServerSettings = {
  databaseUrl: TEST_ENV.DATABASE_URL,
  argon2MemoryCost: Number(TEST_ENV.ARGON2_MEMORY_COST),
  argon2TimeCost: Number(TEST_ENV.ARGON2_TIME_COST)
}
const EMAIL = 'ada@example.com'
const PASSWORD = 'correct horse battery'

/** A host app with its own routes and 404 handler, Gatehouse mounted under `prefix`. */
async function hostApp (t: Teardown, options: GatehouseServerSettings = {}): Promise<FastifyInstance> {
  const app = Fastify()
  t.teardown(() => app.close())
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ host: 'not here' }))
  await app.register(gatehouseServer, { ...CHEAP, prefix: '/auth', ...options })
  app.get('/orders', { onRequest: app.authenticate }, async (request) => ({ sub: request.user.sub }))
  app.get('/admin', { onRequest: app.authorize('admin') }, async () => ({ ok: true }))
  app.post('/echo', async (request) => ({ body: request.body }))
  await app.ready()
  return app
}

async function loginToken (app: FastifyInstance, prefix = '/auth'): Promise<{ token: string, userId: string }> {
  const signup = await app.inject({ method: 'POST', url: `${prefix}/auth/signup`, payload: { email: EMAIL, password: PASSWORD } })
  if (signup.statusCode !== 201) throw new Error(`signup failed: ${signup.statusCode} ${signup.body}`)
  const login = await app.inject({ method: 'POST', url: `${prefix}/auth/login`, payload: { email: EMAIL, password: PASSWORD } })
  const body = login.json<{ access_token: string, user: { id: string } }>()
  return { token: body.access_token, userId: body.user.id }
}

/** A host app on a fresh SQLite file, and a way to read that file's signing keys. */
async function hostOnFile (t: Teardown & { testdir (): string }, options: GatehouseServerSettings = {}) {
  const databaseUrl = `sqlite:${join(t.testdir(), 'gatehouse.db')}`
  const app = await hostApp(t, { ...options, databaseUrl })
  const store = await openStore(databaseUrl)
  t.teardown(() => store.close())
  const keyRows = () => store.db.selectFrom('signing_keys').select(['kid', 'alg', 'state', 'retired_at']).orderBy('kid').execute()
  return { app, databaseUrl, keyRows }
}

const kidOf = (token: string) => (JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString()) as { kid: string }).kid

test('mounted under /auth, the server answers under the prefix', async (t) => {
  const app = await hostApp(t)
  const signup = await app.inject({ method: 'POST', url: '/auth/auth/signup', payload: { email: EMAIL, password: PASSWORD } })
  t.equal(signup.statusCode, 201)
  t.equal(signup.json<{ user: { email: string } }>().user.email, EMAIL)
  const jwks = await app.inject({ url: '/auth/.well-known/jwks.json' })
  t.equal(jwks.statusCode, 200)
  t.equal(jwks.json<{ keys: Array<{ alg: string }> }>().keys[0]?.alg, 'ES256')
  t.strictSame((await app.inject({ url: '/auth/health' })).json(), { status: 'ok' })
  t.equal((await app.inject({ url: '/auth/.well-known/revoked-sessions' })).statusCode, 200)
  const login = await app.inject({ method: 'POST', url: '/auth/auth/login', payload: { email: EMAIL, password: PASSWORD } })
  const me = await app.inject({ url: '/auth/auth/me', headers: bearer(login.json<{ access_token: string }>().access_token) })
  t.equal(me.statusCode, 200)
})

test('a missing, empty or root prefix is a ConfigError: Gatehouse\'s 404s would take over the host\'s', async (t) => {
  const cases: Array<[unknown, string]> = [
    [undefined, 'gatehouse/server: prefix is required, e.g. "/auth"'],
    ['', 'gatehouse/server: prefix is required, e.g. "/auth"'],
    ['/', 'gatehouse/server: prefix must be a path below the root, e.g. "/auth"'],
    ['auth', 'gatehouse/server: prefix must be a path below the root, e.g. "/auth"'],
    ['//auth', 'gatehouse/server: prefix must be a path below the root, e.g. "/auth"'],
    [42, 'gatehouse/server: prefix must be a path below the root, e.g. "/auth"']
  ]
  for (const [prefix, message] of cases) {
    const app = Fastify()
    t.teardown(() => app.close())
    const options = { ...CHEAP, prefix } as GatehouseServerOptions
    await t.rejects(async () => { await app.register(gatehouseServer, options).ready() }, { name: 'ConfigError', message }, String(prefix))
  }
})

test('mounted under a prefix, the host can still set its 404 handler afterwards', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(gatehouseServer, { ...CHEAP, prefix: '/auth' })
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ host: 'not here' }))
  await app.ready()
  t.strictSame((await app.inject({ url: '/nowhere' })).json(), { host: 'not here' })
  t.equal((await app.inject({ url: '/auth/nowhere' })).json<{ code: string }>().code, 'not_found')
})

test('a host that already has authenticate or authorize is a ConfigError, not Fastify\'s decorator clash', async (t) => {
  const message = /^gatehouse\/server: this app already has authenticate or authorize; gatehouse\/server decorates the host with both, so it cannot be mounted beside another plugin that does/
  const twice = Fastify()
  t.teardown(() => twice.close())
  await twice.register(gatehouseServer, { ...CHEAP, prefix: '/auth' })
  await t.rejects(async () => { await twice.register(gatehouseServer, { ...CHEAP, prefix: '/other' }).ready() }, { name: 'ConfigError', message }, 'mounted twice')

  const verifier = Fastify()
  t.teardown(() => verifier.close())
  await verifier.register(gatehouse, { secret: 'a shared secret of at least thirty-two bytes' })
  await t.rejects(async () => { await verifier.register(gatehouseServer, { ...CHEAP, prefix: '/auth' }).ready() }, { name: 'ConfigError', message }, 'beside the verifier plugin')

  for (const name of ['authenticate', 'authorize']) {
    const own = Fastify()
    t.teardown(() => own.close())
    own.decorate(name, () => {})
    await t.rejects(async () => { await own.register(gatehouseServer, { ...CHEAP, prefix: '/auth' }).ready() }, { name: 'ConfigError', message }, `beside its own ${name}`)
    t.notOk(own.hasRoute({ method: 'GET', url: '/auth/health' }), 'nothing is registered')
  }
})

test('host routes guarded by app.authenticate accept the mounted server\'s tokens and refuse others', async (t) => {
  const app = await hostApp(t)
  const { token, userId } = await loginToken(app)
  const ok = await app.inject({ url: '/orders', headers: bearer(token) })
  t.equal(ok.statusCode, 200)
  t.strictSame(ok.json(), { sub: userId })

  const none = await app.inject({ url: '/orders' })
  t.equal(none.statusCode, 401)
  t.strictSame(none.json(), { statusCode: 401, error: 'Unauthorized', code: 'missing_token', message: 'An access token is required' })
  t.equal(none.headers['www-authenticate'], 'Bearer realm="gatehouse"')
  t.equal((await app.inject({ url: '/orders', headers: bearer(`${token}x`) })).json<{ code: string }>().code, 'invalid_token')

  const forbidden = await app.inject({ url: '/admin', headers: bearer(token) })
  t.equal(forbidden.statusCode, 403)
  t.equal(forbidden.headers['www-authenticate'], 'Bearer realm="gatehouse", error="insufficient_scope"')
})

test('a logout through the mounted server is refused on host routes at once', async (t) => {
  const app = await hostApp(t)
  const { token } = await loginToken(app)
  t.equal((await app.inject({ method: 'POST', url: '/auth/auth/logout', headers: bearer(token) })).statusCode, 204)
  const res = await app.inject({ url: '/orders', headers: bearer(token) })
  t.equal(res.statusCode, 401)
  t.equal(res.json<{ message: string }>().message, 'The access token has been revoked')
})

test('options set the server up like the environment variables', async (t) => {
  const app = await hostApp(t, { accessTokenTtl: 60, jwtAlg: 'EdDSA', jwtIssuer: 'https://auth.example' })
  const { token } = await loginToken(app)
  const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { iss: string, exp: number, iat: number }
  t.equal(claims.iss, 'https://auth.example')
  t.equal(claims.exp - claims.iat, 60)
  t.equal((await app.inject({ url: '/auth/.well-known/jwks.json' })).json<{ keys: Array<{ alg: string }> }>().keys[0]?.alg, 'EdDSA')
})

test('an unknown option is a ConfigError naming it', async (t) => {
  for (const option of ['jwtAlgorithm', 'host', 'port', 'trustProxy', 'DATABASE_URL']) {
    const app = Fastify()
    t.teardown(() => app.close())
    const options = { ...CHEAP, prefix: '/auth', [option]: 'x' } as GatehouseServerOptions
    await t.rejects(async () => { await app.register(gatehouseServer, options).ready() }, { name: 'ConfigError', message: `gatehouse/server: unknown option ${option}` })
  }
})

test('a bad value is a ConfigError naming the option, not the environment variable', async (t) => {
  const cases: Array<[GatehouseServerSettings, string]> = [
    [{ jwtAlg: 'HS256' }, 'gatehouse/server: jwtSecret is required when jwtAlg is HS256'],
    [{ jwtAlg: 'HS256', jwtSecret: 'short' }, 'gatehouse/server: jwtSecret must be at least 32 bytes when jwtAlg is HS256'],
    [{ refreshReuseInterval: -1 }, 'gatehouse/server: refreshReuseInterval must be >= 0'],
    [{ argon2MemoryCost: 1 }, 'gatehouse/server: argon2MemoryCost must be >= 8192']
  ]
  const app = Fastify()
  t.teardown(() => app.close())
  await t.rejects(async () => { await app.register(gatehouseServer, { ...CHEAP, prefix: '/auth', jwtAlg: 'RS256' as 'ES256' }).ready() }, { name: 'ConfigError', message: /^gatehouse\/server: jwtAlg [^_]+$/ })
  for (const [options, message] of cases) {
    t.throws(() => configFromOptions({ ...CHEAP, ...options }), new ConfigError(message), message)
    const host = Fastify()
    t.teardown(() => host.close())
    await t.rejects(async () => { await host.register(gatehouseServer, { ...CHEAP, ...options, prefix: '/auth' }).ready() }, { name: 'ConfigError', message })
  }
})

test('configFromOptions maps camelCase options onto the configuration', async (t) => {
  const config = configFromOptions({ ...CHEAP, refreshReuseInterval: 5, loginMaxAttempts: '3' as unknown as number, jwtAudience: 'orders', prefix: '/x' })
  t.equal(config.refreshReuseInterval, 5)
  t.equal(config.loginMaxAttempts, 3)
  t.equal(config.jwt.audience, 'orders')
  t.equal(config.databaseUrl, 'sqlite::memory:')
})

test('a password sent as a number is 400 although the host\'s Ajv coerces types', async (t) => {
  const app = await hostApp(t)
  const res = await app.inject({ method: 'POST', url: '/auth/auth/signup', payload: { email: EMAIL, password: 12345678901 } })
  t.equal(res.statusCode, 400)
  t.equal(res.json<{ code: string }>().code, 'invalid_request')
  t.equal((await app.inject({ method: 'POST', url: '/auth/auth/login', payload: { email: EMAIL, password: 12345678901 } })).statusCode, 400)
})

test('a body over 16 KiB is 413 in the contract shape; the host keeps its own limit', async (t) => {
  const app = await hostApp(t)
  const big = { email: EMAIL, password: PASSWORD, padding: 'x'.repeat(17 * 1024) }
  const res = await app.inject({ method: 'POST', url: '/auth/auth/signup', payload: big })
  t.equal(res.statusCode, 413)
  t.strictSame(res.json(), { statusCode: 413, error: 'Payload Too Large', code: 'payload_too_large', message: 'The request body is too large' })
  t.equal((await app.inject({ method: 'POST', url: '/echo', payload: big })).statusCode, 200, 'the host\'s route takes the same body')
})

test('the host\'s 404 handler answers outside the prefix; Gatehouse\'s inside it', async (t) => {
  const app = await hostApp(t)
  const outside = await app.inject({ url: '/nowhere' })
  t.equal(outside.statusCode, 404)
  t.strictSame(outside.json(), { host: 'not here' })
  const inside = await app.inject({ url: '/auth/nowhere' })
  t.equal(inside.statusCode, 404)
  t.equal(inside.json<{ code: string }>().code, 'not_found')
  const wrongMethod = await app.inject({ method: 'DELETE', url: '/auth/auth/signup' })
  t.equal(wrongMethod.statusCode, 405)
})

test('the host\'s error handler and parsers are untouched', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(gatehouseServer, { ...CHEAP, prefix: '/auth' })
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, (_request, body, done) => done(null, body))
  app.post('/text', async (request) => ({ got: request.body }))
  app.get('/boom', async () => { throw Object.assign(new Error('host error'), { statusCode: 418 }) })
  await app.ready()
  const text = await app.inject({ method: 'POST', url: '/text', payload: 'hello', headers: { 'content-type': 'text/plain' } })
  t.strictSame(text.json(), { got: 'hello' })
  const boom = await app.inject({ url: '/boom' })
  t.equal(boom.statusCode, 418)
  t.equal(boom.json<{ message: string }>().message, 'host error', 'Fastify\'s default handler, not Gatehouse\'s')
  const inside = await app.inject({ method: 'POST', url: '/auth/auth/signup', payload: 'hello', headers: { 'content-type': 'text/plain' } })
  t.equal(inside.statusCode, 415, 'Gatehouse still takes only JSON')
})

test('rotateSigningKeys rotates the keys in the store its options name', async (t) => {
  const databaseUrl = `sqlite:${join(t.testdir(), 'gatehouse.db')}`
  const before = await hostApp(t, { databaseUrl })
  const kidsBefore = (await before.inject({ url: '/auth/.well-known/jwks.json' })).json<{ keys: Array<{ kid: string }> }>().keys.map(key => key.kid)
  await before.close()

  // The next key was published a moment ago, and no verifier here caches the JWKS: no need to wait for it to age.
  const rotated = await rotateSigningKeys({ databaseUrl }, { minNextKeyAge: 0 })
  t.type(rotated.active, 'string')
  t.not(rotated.active, rotated.next)
  t.notOk(kidsBefore.includes(rotated.next), 'the new next key is new')
  const after = await hostApp(t, { databaseUrl })
  const kidsAfter = (await after.inject({ url: '/auth/.well-known/jwks.json' })).json<{ keys: Array<{ kid: string }> }>().keys.map(key => key.kid)
  t.ok(kidsAfter.includes(rotated.active), 'a server on that store publishes the active key')
  const { token } = await loginToken(after)
  t.equal(kidOf(token), rotated.active, 'and signs with it')
})

test('rotateSigningKeys refuses a next key published too recently, by default NEXT_KEY_MIN_AGE_MS', async (t) => {
  const { app, databaseUrl, keyRows } = await hostOnFile(t)
  const before = await keyRows()
  await t.rejects(rotateSigningKeys({ databaseUrl }), new RegExp(`cannot rotate ES256 signing keys yet: .* ${NEXT_KEY_MIN_AGE_MS} ms`))
  await t.rejects(rotateSigningKeys({ databaseUrl }, { minNextKeyAge: 60_000 }), / 60000 ms/, 'or minNextKeyAge')
  t.same(await keyRows(), before, 'nothing changes')
  const { token } = await loginToken(app)
  t.equal(kidOf(token), before.find(row => row.state === 'active')?.kid, 'the same key signs')
})

test('rotateSigningKeys with a jwtAlg the store does not sign with is refused and leaves its keys alone', async (t) => {
  const { app, databaseUrl, keyRows } = await hostOnFile(t, { jwtAlg: 'EdDSA' })
  const before = await keyRows()

  // jwtAlg left at its default, ES256, against a store of EdDSA keys.
  await t.rejects(rotateSigningKeys({ databaseUrl }, { minNextKeyAge: 0 }), {
    message: 'cannot rotate ES256 signing keys: the store has no active ES256 key; it holds active keys of EdDSA only; rotate with the algorithm the servers sign with (JWT_ALG)'
  })
  t.same(await keyRows(), before, 'no ES256 keys are created and the EdDSA keys are not rotated')
  const { token } = await loginToken(app)
  t.equal(kidOf(token), before.find(row => row.state === 'active')?.kid, 'the EdDSA key still signs')
})

test('rotateSigningKeys refuses bad options and HS256', async (t) => {
  await t.rejects(rotateSigningKeys({ jwtAlg: 'HS256' }), { name: 'ConfigError', message: 'gatehouse/server: jwtSecret is required when jwtAlg is HS256' })
  await t.rejects(rotateSigningKeys({ databaseUrl: 'sqlite::memory:', jwtAlg: 'HS256', jwtSecret: 'x'.repeat(32) }), /HS256 has no signing keys to rotate/)
})
