import Fastify from 'fastify'
import { test } from 'tap'
import { UnknownKeyError } from '../../../src/verify/errors.js'
import { createBearerAuth } from '../../../src/verify/bearer-auth.js'
import { UNKNOWN_KEY_MESSAGE } from '../../helpers/forge.js'
import { bearer, newKey, nowSeconds, signAccessToken, type TestKey } from '../../helpers/tokens.js'

// A verified token is remembered: what must still refuse it on every later
// request, and what must not leak between requests.

const pem = (key: TestKey) => key.publicKey.export({ type: 'spki', format: 'pem' }).toString()

async function guardedApp (t: { teardown (fn: () => unknown): void }, clockToleranceSeconds = 0) {
  const keys = new Map<string, string>()
  const revoked = new Set<string>()
  const auth = createBearerAuth({
    algorithms: ['ES256'],
    issuer: 'gatehouse',
    audience: 'gatehouse',
    clockToleranceSeconds,
    keyFor: ({ kid }) => {
      const published = keys.get(kid)
      if (published === undefined) throw new UnknownKeyError()
      return published
    },
    isRevoked: (sid) => revoked.has(sid)
  })
  const app = Fastify()
  t.teardown(() => app.close())
  app.get('/orders', { onRequest: auth.authenticate }, async (request) => {
    const seen = { sub: request.user.sub, roles: [...request.user.roles] }
    // A handler may change its own request.user; the next request must not see it.
    request.user.roles.push('admin')
    request.user.sub = 'someone-else'
    return seen
  })
  await app.ready()
  // One key published from the start; tests withdraw or replace it through `keys`.
  const key = newKey()
  keys.set(key.kid, pem(key))
  return { app, keys, revoked, key }
}

const waitUntil = (ms: number) => new Promise(resolve => setTimeout(resolve, Math.max(0, ms - Date.now())))

test('a remembered token is refused once its exp has passed', async (t) => {
  const { app, key } = await guardedApp(t)
  const exp = nowSeconds() + 2
  const token = signAccessToken(key, { iat: nowSeconds() - 10, exp })
  t.equal((await app.inject({ url: '/orders', headers: bearer(token) })).statusCode, 200)
  t.equal((await app.inject({ url: '/orders', headers: bearer(token) })).statusCode, 200, 'again, from memory')
  await waitUntil(exp * 1000 + 50)
  const late = await app.inject({ url: '/orders', headers: bearer(token) })
  t.equal(late.statusCode, 401)
  t.equal(late.json().code, 'invalid_token')
})

test('a remembered token is accepted within the clock tolerance past its exp, and refused beyond it', async (t) => {
  const { app, key } = await guardedApp(t, 2)
  const exp = nowSeconds() - 1
  const token = signAccessToken(key, { iat: nowSeconds() - 10, exp })
  t.equal((await app.inject({ url: '/orders', headers: bearer(token) })).statusCode, 200, 'a second past exp, within two of tolerance')
  t.equal((await app.inject({ url: '/orders', headers: bearer(token) })).statusCode, 200, 'again, from memory')
  await waitUntil((exp + 2) * 1000 + 50)
  t.equal((await app.inject({ url: '/orders', headers: bearer(token) })).statusCode, 401)
})

test('a remembered token does not vouch for the same header and claims under another signature', async (t) => {
  const { app, key } = await guardedApp(t)
  const token = signAccessToken(key)
  t.equal((await app.inject({ url: '/orders', headers: bearer(token) })).statusCode, 200)
  const [header, payload] = token.split('.')
  const otherSignature = signAccessToken(newKey(), {}, { kid: key.kid }).split('.')[2]
  const forged = await app.inject({ url: '/orders', headers: bearer(`${header}.${payload}.${otherSignature}`) })
  t.equal(forged.statusCode, 401)
  t.equal(forged.json().code, 'invalid_token')
})

test('a remembered token\'s signature does not vouch for another header or payload', async (t) => {
  const { app, key } = await guardedApp(t)
  const token = signAccessToken(key, { sub: 'user-1' })
  t.equal((await app.inject({ url: '/orders', headers: bearer(token) })).statusCode, 200)
  const [header, , signature] = token.split('.')
  const [, otherPayload] = signAccessToken(key, { sub: 'user-2' }).split('.')
  const forged = await app.inject({ url: '/orders', headers: bearer(`${header}.${otherPayload}.${signature}`) })
  t.equal(forged.statusCode, 401)
  t.equal(forged.json().code, 'invalid_token')
  t.equal((await app.inject({ url: '/orders', headers: bearer(token) })).statusCode, 200, 'the genuine token is still accepted')
})

test('a remembered token is refused once its key is withdrawn, or replaced under the same kid', async (t) => {
  const { app, keys, key } = await guardedApp(t)
  const token = signAccessToken(key)
  t.equal((await app.inject({ url: '/orders', headers: bearer(token) })).statusCode, 200)

  keys.delete(key.kid)
  const withdrawn = await app.inject({ url: '/orders', headers: bearer(token) })
  t.equal(withdrawn.statusCode, 401)
  t.equal(withdrawn.json().message, UNKNOWN_KEY_MESSAGE)

  keys.set(key.kid, pem(key))
  t.equal((await app.inject({ url: '/orders', headers: bearer(token) })).statusCode, 200, 'published again, verified again')
  keys.set(key.kid, pem(newKey()))
  const replaced = await app.inject({ url: '/orders', headers: bearer(token) })
  t.equal(replaced.statusCode, 401, 'another key under the kid does not carry the old signature')
  t.equal(replaced.json().code, 'invalid_token')
})

test('a remembered token is refused once its session is revoked', async (t) => {
  const { app, key, revoked } = await guardedApp(t)
  const token = signAccessToken(key, { sid: 'session-1' })
  t.equal((await app.inject({ url: '/orders', headers: bearer(token) })).statusCode, 200)
  revoked.add('session-1')
  const res = await app.inject({ url: '/orders', headers: bearer(token) })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'invalid_token')
})

test('a handler changing request.user does not change what the next request with the token sees', async (t) => {
  const { app, key } = await guardedApp(t)
  const token = signAccessToken(key, { roles: ['user'] })
  for (let i = 0; i < 2; i++) {
    const res = await app.inject({ url: '/orders', headers: bearer(token) })
    t.strictSame(res.json(), { sub: 'user-1', roles: ['user'] })
  }
})

test('a remembered token behind a malformed Authorization header is refused', async (t) => {
  const { app, key } = await guardedApp(t)
  const token = signAccessToken(key)
  t.equal((await app.inject({ url: '/orders', headers: bearer(token) })).statusCode, 200)
  t.equal((await app.inject({ url: '/orders', headers: { authorization: `bearer ${token}` } })).statusCode, 200, 'the scheme is case-insensitive')
  for (const authorization of [`Bearer  ${token}`, `Bearer ${token} `, `Basic ${token}`, `Bearer ${token}.x`]) {
    t.equal((await app.inject({ url: '/orders', headers: { authorization } })).statusCode, 401, JSON.stringify(authorization.slice(0, 9)))
  }
})
