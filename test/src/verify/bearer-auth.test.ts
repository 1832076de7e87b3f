import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import * as fastJwt from 'fast-jwt'
import { test, type Test } from 'tap'
import { UnknownKeyError } from '../../../src/verify/errors.js'
import { createBearerAuth } from '../../../src/verify/bearer-auth.js'
import { FASTIFY_JWT_VERIFY, registerBearerAuth } from '../../../src/verify/register-bearer-auth.js'
import type { AccessTokenClaims } from '../../../src/verify/claims.js'
import { RevocationSet } from '../../../src/verify/revocation-set.js'
import { UNKNOWN_KEY_MESSAGE } from '../../helpers/forge.js'
import { accessClaims, bearer, newKey, nowSeconds, signAccessToken, type TestKey } from '../../helpers/tokens.js'

// The one bearer check behind `authenticate` and `request.jwtVerify()`. A
// token verified twice is remembered: what must still refuse it on every later
// request, by either path, and what must not leak between requests.

interface Teardown { teardown (fn: () => unknown): void }

const pem = (key: TestKey) => key.publicKey.export({ type: 'spki', format: 'pem' }).toString()

interface GuardedAppOptions {
  /** Leeway for exp, nbf and iat (ms). */
  clockTolerance?: number
  register?: typeof registerBearerAuth
  /** More routes, added before the app is ready. */
  routes?: (app: FastifyInstance) => void
  /** The key lookup answers through a promise, as a JWKS source does while it fetches. */
  pendingLookups?: boolean
}

async function guardedApp (t: Teardown, { clockTolerance = 0, register = registerBearerAuth, routes, pendingLookups = false }: GuardedAppOptions = {}) {
  const keys = new Map<string, string>()
  const revoked = new RevocationSet()
  // The check's clock: the real time (which signs the tokens) until a test sets `time`.
  const clock: { time?: number } = {}
  const app = Fastify()
  t.teardown(() => app.close())
  await register(app, {
    algorithms: ['ES256'],
    issuer: 'gatehouse',
    audience: 'gatehouse',
    clockTolerance,
    keyFor: ({ kid }) => {
      const published = keys.get(kid)
      if (pendingLookups) return published === undefined ? Promise.reject(new UnknownKeyError()) : Promise.resolve(published)
      if (published === undefined) throw new UnknownKeyError()
      return published
    },
    revoked,
    now: () => clock.time ?? Date.now()
  })
  app.get('/orders', { onRequest: app.authenticate }, async (request) => {
    const seen = { sub: request.user.sub, roles: [...request.user.roles] }
    // A handler may change its own request.user; the next request must not see it.
    request.user.roles.push('admin')
    request.user.sub = 'someone-else'
    return seen
  })
  app.get('/verify', async (request) => {
    const claims = await request.jwtVerify<AccessTokenClaims>()
    return { sub: claims.sub, roles: [...claims.roles] }
  })
  routes?.(app)
  await app.ready()
  // One key published from the start; tests withdraw or replace it through `keys`.
  const key = newKey()
  keys.set(key.kid, pem(key))
  return { app, keys, revoked, key, clock }
}

/** Presents a good token to one path twice: the check remembers a token at its second verification. */
async function remember (t: Pick<Test, 'equal'>, app: FastifyInstance, token: string, url = '/orders') {
  for (const time of ['verified', 'verified again and remembered']) {
    t.equal((await app.inject({ url, headers: bearer(token) })).statusCode, 200, `${url}: ${time}`)
  }
}

/** Both paths' replies to the token: status, body and challenge, which must be the same. */
async function bothReplies (t: Pick<Test, 'equal' | 'strictSame'>, app: FastifyInstance, token: string, what: string) {
  const [guarded, verified] = await Promise.all(['/orders', '/verify'].map(url => app.inject({ url, headers: bearer(token) })))
  if (guarded === undefined || verified === undefined) throw new Error('no reply')
  t.equal(verified.statusCode, guarded.statusCode, `${what}: jwtVerify's status is authenticate's`)
  if (guarded.statusCode !== 200) {
    t.strictSame(verified.json(), guarded.json(), `${what}: the same error body`)
    t.equal(verified.headers['www-authenticate'], guarded.headers['www-authenticate'], `${what}: the same challenge`)
  }
  return guarded
}

test('a remembered token is refused from its exp on, by both paths', async (t) => {
  const { app, key, clock } = await guardedApp(t)
  const exp = nowSeconds() + 2
  const token = signAccessToken(key, { iat: nowSeconds() - 10, exp })
  t.equal((await bothReplies(t, app, token, 'fresh')).statusCode, 200)
  clock.time = exp * 1000 - 1
  t.equal((await bothReplies(t, app, token, 'from memory')).statusCode, 200, 'again, from memory, up to the last millisecond')
  clock.time = exp * 1000
  const late = await bothReplies(t, app, token, 'at exp')
  t.equal(late.statusCode, 401)
  t.equal(late.json().code, 'invalid_token')
})

test('a token never seen before is refused from its exp on', async (t) => {
  const { app, key, clock } = await guardedApp(t)
  const exp = nowSeconds() + 60
  clock.time = exp * 1000 - 1
  t.equal((await bothReplies(t, app, signAccessToken(key, { exp }), 'before exp')).statusCode, 200)
  clock.time = exp * 1000
  t.equal((await bothReplies(t, app, signAccessToken(key, { exp }), 'at exp')).statusCode, 401)
})

test('a remembered token is accepted within the clock tolerance past its exp, and refused beyond it', async (t) => {
  const { app, key, clock } = await guardedApp(t, { clockTolerance: 2_000 })
  const exp = nowSeconds() - 1
  const token = signAccessToken(key, { iat: nowSeconds() - 10, exp })
  await remember(t, app, token) // a second past exp, within two of tolerance
  clock.time = (exp + 2) * 1000 - 1
  t.equal((await bothReplies(t, app, token, 'within the tolerance')).statusCode, 200, 'again, from memory')
  clock.time = (exp + 2) * 1000
  t.equal((await bothReplies(t, app, token, 'past the tolerance')).statusCode, 401)
})

test('nbf and iat are checked against the check\'s clock, give or take the tolerance', async (t) => {
  const { app, key, clock } = await guardedApp(t, { clockTolerance: 1_000 })
  const later = nowSeconds() + 600
  clock.time = later * 1000 - 1_001
  t.equal((await bothReplies(t, app, signAccessToken(key, { nbf: later }), 'nbf beyond the tolerance')).statusCode, 401)
  t.equal((await bothReplies(t, app, signAccessToken(key, { iat: later, exp: later + 900 }), 'iat beyond the tolerance')).statusCode, 401)
  clock.time = later * 1000 - 1_000
  t.equal((await bothReplies(t, app, signAccessToken(key, { nbf: later }), 'nbf within the tolerance')).statusCode, 200)
  t.equal((await bothReplies(t, app, signAccessToken(key, { iat: later, exp: later + 900 }), 'iat within the tolerance')).statusCode, 200)
})

test('a remembered token does not vouch for the same header and claims under another signature', async (t) => {
  const { app, key } = await guardedApp(t)
  const token = signAccessToken(key)
  t.equal((await bothReplies(t, app, token, 'signed')).statusCode, 200)
  const [header, payload] = token.split('.')
  const otherSignature = signAccessToken(newKey(), {}, { kid: key.kid }).split('.')[2]
  const forged = await bothReplies(t, app, `${header}.${payload}.${otherSignature}`, 'forged')
  t.equal(forged.statusCode, 401)
  t.equal(forged.json().code, 'invalid_token')
})

test('a remembered token\'s signature does not vouch for another header or payload', async (t) => {
  const { app, key } = await guardedApp(t)
  const token = signAccessToken(key, { sub: 'user-1' })
  await remember(t, app, token)
  const [header, , signature] = token.split('.')
  const [, otherPayload] = signAccessToken(key, { sub: 'user-2' }).split('.')
  const forged = await app.inject({ url: '/orders', headers: bearer(`${header}.${otherPayload}.${signature}`) })
  t.equal(forged.statusCode, 401)
  t.equal(forged.json().code, 'invalid_token')
  t.equal((await app.inject({ url: '/orders', headers: bearer(token) })).statusCode, 200, 'the genuine token is still accepted')
})

for (const pendingLookups of [false, true]) {
  const lookups = pendingLookups ? 'a pending key lookup (a JWKS source fetching)' : 'a key lookup that answers at once'
  test(`with ${lookups}, a remembered token is accepted while its key is published, and refused by both paths at once when it is withdrawn or replaced under the same kid`, async (t) => {
    const { app, keys, key } = await guardedApp(t, { pendingLookups })
    const token = signAccessToken(key)
    // Remembered through authenticate alone; the withdrawal must reach jwtVerify too.
    await remember(t, app, token)
    t.equal((await bothReplies(t, app, token, 'remembered, same key')).statusCode, 200)

    keys.delete(key.kid)
    const withdrawn = await bothReplies(t, app, token, 'withdrawn')
    t.equal(withdrawn.statusCode, 401)
    t.equal(withdrawn.json().message, UNKNOWN_KEY_MESSAGE)

    keys.set(key.kid, pem(key))
    // Remembered through jwtVerify alone this time; the replacement must reach authenticate too.
    await remember(t, app, token, '/verify') // published again
    keys.set(key.kid, pem(newKey()))
    const replaced = await bothReplies(t, app, token, 'replaced')
    t.equal(replaced.statusCode, 401, 'another key under the kid does not carry the old signature')
    t.equal(replaced.json().code, 'invalid_token')
  })
}

test('authenticate and jwtVerify share one remembered verdict: the signature of a token used again and again is checked twice', async (t) => {
  // fast-jwt's verifiers, counted: each still checks for real.
  let signatureChecks = 0
  // By URL: tap resolves a relative path from the source-mapped .ts file, not the compiled test that runs.
  const { registerBearerAuth: register } = await t.mockImport<typeof import('../../../src/verify/register-bearer-auth.js')>(new URL('../../../src/verify/register-bearer-auth.js', import.meta.url).href, {
    'fast-jwt': {
      ...fastJwt,
      createVerifier: (options: Parameters<typeof fastJwt.createVerifier>[0]) => {
        const verify = fastJwt.createVerifier(options)
        return (token: string) => { signatureChecks++; return verify(token) }
      }
    }
  })
  const { app, key } = await guardedApp(t, { register })
  const token = signAccessToken(key)
  for (const url of ['/orders', '/verify', '/verify', '/orders', '/orders', '/verify']) {
    t.equal((await app.inject({ url, headers: bearer(token) })).statusCode, 200, url)
  }
  t.equal(signatureChecks, 2, 'six requests through both paths, two signature checks')
  const another = signAccessToken(key)
  t.equal((await app.inject({ url: '/verify', headers: bearer(another) })).statusCode, 200)
  t.equal(signatureChecks, 3, 'another token is checked on its own')
  for (let i = 0; i < 3; i++) t.equal((await app.inject({ url: '/orders', headers: bearer(token) })).statusCode, 200)
  t.equal(signatureChecks, 3, 'the remembered token is still not checked again')
})

test('request.jwtVerify() refuses a revoked session\'s token, remembered or not, with the reply authenticate gives', async (t) => {
  const { app, key, revoked } = await guardedApp(t)
  const remembered = signAccessToken(key, { sid: 'session-1' })
  t.equal((await bothReplies(t, app, remembered, 'before the revocation')).statusCode, 200)
  revoked.add('session-1', Date.now() + 60_000)
  for (const [what, token] of [['remembered', remembered], ['new', signAccessToken(key, { sid: 'session-1' })]] as const) {
    const res = await bothReplies(t, app, token, what)
    t.equal(res.statusCode, 401, what)
    t.strictSame(res.json(), { statusCode: 401, error: 'Unauthorized', code: 'invalid_token', message: 'The access token has been revoked' }, what)
    t.equal(res.headers['www-authenticate'], 'Bearer realm="gatehouse", error="invalid_token", error_description="The access token has been revoked"', what)
  }
  t.equal((await bothReplies(t, app, signAccessToken(key, { sid: 'session-2' }), 'another session')).statusCode, 200)
})

test('request.jwtVerify() gives the claims, sets request.user, and ignores options that would loosen the checks', async (t) => {
  const { app, key, clock } = await guardedApp(t, {
    routes: app => app.get('/loose', async (request) => {
      const claims = await request.jwtVerify<AccessTokenClaims>({ allowedIss: 'elsewhere', ignoreExpiration: true })
      return { claims: claims.sub, user: request.user.sub }
    })
  })
  const token = signAccessToken(key, { sub: 'user-3', roles: ['user'] })
  t.strictSame((await app.inject({ url: '/verify', headers: bearer(token) })).json(), { sub: 'user-3', roles: ['user'] })
  t.strictSame((await app.inject({ url: '/loose', headers: bearer(token) })).json(), { claims: 'user-3', user: 'user-3' })
  t.equal((await app.inject({ url: '/loose', headers: bearer(signAccessToken(key, { iss: 'elsewhere' })) })).statusCode, 401, 'iss is still checked')
  clock.time = Date.now() + 3_600_000
  t.equal((await app.inject({ url: '/loose', headers: bearer(token) })).statusCode, 401, 'exp is still checked')
})

test('request.jwtVerify(callback) answers through the callback, as @fastify/jwt\'s types offer it', async (t) => {
  const { app, key } = await guardedApp(t, {
    routes: app => app.get('/callback', (request, reply) => {
      request.jwtVerify((error, claims) => {
        if (error !== null) reply.send(error)
        else reply.send({ sub: (claims as AccessTokenClaims).sub })
      })
    })
  })
  const ok = await app.inject({ url: '/callback', headers: bearer(signAccessToken(key, { sub: 'user-4' })) })
  t.strictSame(ok.json(), { sub: 'user-4' })
  const refused = await app.inject({ url: '/callback' })
  t.equal(refused.statusCode, 401)
  t.equal(refused.json().code, 'missing_token')
  t.equal(refused.headers['www-authenticate'], 'Bearer realm="gatehouse"')
})

test('@fastify/jwt\'s own verify, still registered, accepts no token: jwtVerify is the only check', async (t) => {
  const { app, key } = await guardedApp(t, {
    routes: app => app.get('/own', async (request) => {
      const ownVerify = (request as unknown as Record<string, () => Promise<unknown>>)[FASTIFY_JWT_VERIFY]
      return ownVerify?.call(request).then(() => 'accepted', (error: Error) => error.message)
    })
  })
  const token = signAccessToken(key)
  t.equal((await app.inject({ url: '/verify', headers: bearer(token) })).statusCode, 200, 'the token is good')
  t.match((await app.inject({ url: '/own', headers: bearer(token) })).body, /verified by request\.jwtVerify\(\), app\.authenticate or app\.authorize/)
  const jwt = (app.jwt as unknown as Record<string, { verify (token: string): Promise<unknown> }>).gatehouse
  await t.rejects(async () => jwt?.verify(token), 'app.jwt.gatehouse.verify refuses it too')
})

test('request.jwtDecode() reads the claims of the request\'s token without vouching for them', async (t) => {
  const { app, key } = await guardedApp(t, { routes: app => app.get('/decode', async (request) => request.jwtDecode()) })
  const claims = accessClaims({ sub: 'user-5' })
  const token = signAccessToken(newKey(), claims)
  t.strictSame((await app.inject({ url: '/decode', headers: bearer(token) })).json(), claims)
  t.equal((await app.inject({ url: '/verify', headers: bearer(token) })).statusCode, 401, 'an unknown key: decoded, never verified')
  t.equal((await app.inject({ url: '/verify', headers: bearer(signAccessToken(key)) })).statusCode, 200)
})

test('a handler changing request.user does not change what the next request with the token sees', async (t) => {
  const { app, key } = await guardedApp(t)
  const token = signAccessToken(key, { roles: ['user'] })
  // The third request is served from memory.
  for (let i = 0; i < 3; i++) {
    const res = await app.inject({ url: '/orders', headers: bearer(token) })
    t.strictSame(res.json(), { sub: 'user-1', roles: ['user'] })
  }
  t.strictSame((await app.inject({ url: '/verify', headers: bearer(token) })).json(), { sub: 'user-1', roles: ['user'] }, 'nor what jwtVerify gives')
})

test('a remembered token behind a malformed Authorization header is refused', async (t) => {
  const { app, key } = await guardedApp(t)
  const token = signAccessToken(key)
  await remember(t, app, token)
  t.equal((await app.inject({ url: '/orders', headers: { authorization: `bearer ${token}` } })).statusCode, 200, 'the scheme is case-insensitive, remembered too')
  for (const authorization of [`Bearer  ${token}`, `Bearer ${token} `, `Basic ${token}`, `Bearer ${token}.x`]) {
    for (const url of ['/orders', '/verify']) {
      const res = await app.inject({ url, headers: { authorization } })
      t.equal(res.statusCode, 401, `${url} ${JSON.stringify(authorization.slice(0, 9))}`)
      t.equal(res.json().code, 'invalid_token')
    }
  }
})

test('a check that throws, even before its first await, rejects the hook\'s promise instead of throwing', async (t) => {
  const auth = createBearerAuth({
    algorithms: ['ES256'],
    issuer: 'gatehouse',
    audience: 'gatehouse',
    clockTolerance: 0,
    keyFor: () => 'unused',
    revoked: new RevocationSet(),
    now: () => { throw new Error('the clock broke') }
  })
  const request = { headers: { authorization: 'Bearer a.b.c' } } as unknown as FastifyRequest
  const reply = {} as unknown as FastifyReply
  for (const [name, guard] of [['authenticate', auth.authenticate], ['authorize', auth.authorize('admin')]] as const) {
    let pending: Promise<unknown> | undefined
    t.doesNotThrow(() => { pending = guard(request, reply) }, `${name} does not throw`)
    await t.rejects(pending as Promise<unknown>, { message: 'the clock broke' }, `${name} rejects with the error`)
    // As Fastify calls it: the error goes to done.
    const given: unknown[] = []
    t.equal(guard(request, reply, (error?: Error) => { given.push(error) }), undefined, `${name} as a callback hook returns nothing`)
    await new Promise(resolve => setImmediate(resolve))
    t.equal(given.length, 1, `${name} calls done once`)
    t.match(given[0], { message: 'the clock broke' }, `${name} gives done the error`)
  }
})

test('called from the app\'s own async hook, the guards answer through a promise as Fastify calls them', async (t) => {
  let handled = 0
  const { app, key, revoked } = await guardedApp(t, {
    routes: app => {
      // An onSend hook that waits: a refusal's promise must not settle before its reply is sent, or the handler would run.
      app.addHook('onSend', async (_request, _reply, payload) => { await new Promise(resolve => setImmediate(resolve)); return payload })
      app.get('/own-hook', { onRequest: async (request, reply) => app.authenticate(request, reply) }, async (request) => { handled++; return { sub: request.user.sub } })
      app.get('/own-admin', { onRequest: async (request, reply) => app.authorize('admin')(request, reply) }, async (request) => { handled++; return { sub: request.user.sub } })
    }
  })
  const token = signAccessToken(key, { sub: 'user-6', sid: 'session-6' })
  for (const time of ['new', 'seen once', 'remembered']) {
    const res = await app.inject({ url: '/own-hook', headers: bearer(token) })
    t.strictSame(res.json(), { sub: 'user-6' }, `a ${time} token is admitted`)
  }
  const missing = await app.inject({ url: '/own-hook' })
  t.equal(missing.statusCode, 401)
  t.strictSame(missing.json(), { statusCode: 401, error: 'Unauthorized', code: 'missing_token', message: 'An access token is required' })
  t.equal(missing.headers['www-authenticate'], 'Bearer realm="gatehouse"')
  const notAdmin = await app.inject({ url: '/own-admin', headers: bearer(token) })
  t.equal(notAdmin.statusCode, 403)
  t.equal(notAdmin.json().code, 'forbidden')
  t.strictSame((await app.inject({ url: '/own-admin', headers: bearer(signAccessToken(key, { roles: ['admin'] })) })).json(), { sub: 'user-1' })
  revoked.add('session-6', Date.now() + 60_000)
  const refused = await app.inject({ url: '/own-hook', headers: bearer(token) })
  t.equal(refused.statusCode, 401)
  t.equal(refused.json().message, 'The access token has been revoked')
  const [header, payload] = signAccessToken(key).split('.')
  const forged = await app.inject({ url: '/own-hook', headers: bearer(`${header}.${payload}.${token.split('.')[2]}`) })
  t.equal(forged.statusCode, 401)
  t.equal(forged.json().code, 'invalid_token', 'a bad signature is refused')
  t.equal(handled, 4, 'the handler ran for the four admitted requests only')
})
