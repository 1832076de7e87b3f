import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { test } from 'tap'
import { build } from '../helpers/build.js'

// The `t` of a test callback (the last overload of `test` takes only the callback).
type Test = Parameters<Parameters<typeof test>[0]>[0]

const CREDENTIALS = { email: 'ada@example.com', password: 'wrong password here' }

function login (app: FastifyInstance, extra: Partial<InjectOptions> = {}) {
  return app.inject({ method: 'POST', url: '/auth/login', payload: CREDENTIALS, ...extra })
}

function assertRateLimited (t: Test, res: LightMyRequestResponse) {
  t.equal(res.statusCode, 429)
  t.same(res.json(), { statusCode: 429, error: 'Too Many Requests', code: 'rate_limited', message: `Too many requests; retry after ${res.headers['retry-after']} seconds` })
  const retryAfter = Number(res.headers['retry-after'])
  t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${res.headers['retry-after']}`)
  t.notMatch(res.body, /FST_|rate-limit/)
}

test('the request after RATE_LIMIT_MAX on /auth/* is 429 rate_limited with Retry-After', async (t) => {
  const app = await build(t, { RATE_LIMIT_MAX: '3' })
  for (let i = 0; i < 3; i++) t.equal((await login(app)).statusCode, 401)
  assertRateLimited(t, await login(app))
})

test('the limit counts every /auth route together', async (t) => {
  const app = await build(t, { RATE_LIMIT_MAX: '3' })
  t.equal((await app.inject({ method: 'POST', url: '/auth/signup', payload: { email: 'ada@example.com', password: 'correct horse battery' } })).statusCode, 201)
  t.equal((await login(app)).statusCode, 401)
  t.equal((await app.inject({ url: '/auth/me' })).statusCode, 401)
  assertRateLimited(t, await app.inject({ url: '/auth/me' }))
  assertRateLimited(t, await app.inject({ method: 'POST', url: '/auth/signup', payload: { email: 'bob@example.com', password: 'correct horse battery' } }))
  assertRateLimited(t, await app.inject({ method: 'POST', url: '/auth/login', payload: { email: 'ada@example.com', password: 'correct horse battery' } }))
})

test('a rate-limited request does no work', async (t) => {
  const app = await build(t, { RATE_LIMIT_MAX: '1' })
  t.equal((await login(app)).statusCode, 401)
  assertRateLimited(t, await app.inject({ method: 'POST', url: '/auth/signup', payload: { email: 'bob@example.com', password: 'correct horse battery' } }))
  t.same(await app.store.db.selectFrom('users').selectAll().execute(), [], 'no account was created')
})

test('GET /health is not limited while /auth is', async (t) => {
  const app = await build(t, { RATE_LIMIT_MAX: '3' })
  for (let i = 0; i < 4; i++) await login(app)
  assertRateLimited(t, await login(app))
  for (let i = 0; i < 10; i++) t.equal((await app.inject({ url: '/health' })).statusCode, 200)
})

test('without TRUST_PROXY a forged X-Forwarded-For does not reset the count', async (t) => {
  const app = await build(t, { RATE_LIMIT_MAX: '3' })
  for (let i = 0; i < 3; i++) await login(app, { headers: { 'x-forwarded-for': `198.51.100.${i}` } })
  assertRateLimited(t, await login(app, { headers: { 'x-forwarded-for': '203.0.113.77' } }))
  assertRateLimited(t, await login(app, { headers: { 'x-forwarded-for': '203.0.113.78, 127.0.0.1' } }))
})

test('with TRUST_PROXY distinct X-Forwarded-For addresses are counted separately', async (t) => {
  const app = await build(t, { RATE_LIMIT_MAX: '3', TRUST_PROXY: '127.0.0.1' })
  const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } })
  for (let i = 0; i < 3; i++) t.equal((await login(app, from('198.51.100.1'))).statusCode, 401)
  assertRateLimited(t, await login(app, from('198.51.100.1')))
  t.equal((await login(app, from('198.51.100.2'))).statusCode, 401, 'another client has its own count')
})

test('with TRUST_PROXY a request from an untrusted address is counted by its socket address', async (t) => {
  const app = await build(t, { RATE_LIMIT_MAX: '3', TRUST_PROXY: '127.0.0.1' })
  for (let i = 0; i < 3; i++) await login(app, { remoteAddress: '192.0.2.10', headers: { 'x-forwarded-for': `198.51.100.${i}` } })
  assertRateLimited(t, await login(app, { remoteAddress: '192.0.2.10', headers: { 'x-forwarded-for': '198.51.100.99' } }))
})

test('clients at different socket addresses have separate counts', async (t) => {
  const app = await build(t, { RATE_LIMIT_MAX: '3' })
  for (let i = 0; i < 3; i++) await login(app, { remoteAddress: '192.0.2.1' })
  assertRateLimited(t, await login(app, { remoteAddress: '192.0.2.1' }))
  t.equal((await login(app, { remoteAddress: '192.0.2.2' })).statusCode, 401)
})

test('the default limit allows ordinary use', async (t) => {
  const app = await build(t)
  for (let i = 0; i < 20; i++) t.not((await app.inject({ url: '/auth/me' })).statusCode, 429)
})

test('IPv6 clients are limited per /64, not per address', async (t) => {
  const app = await build(t, { RATE_LIMIT_MAX: '3' })
  for (const host of ['1', '2', '3']) t.equal((await login(app, { remoteAddress: `2001:db8:0:1::${host}` })).statusCode, 401)
  assertRateLimited(t, await login(app, { remoteAddress: '2001:db8:0:1::ffff' }))
  t.equal((await login(app, { remoteAddress: '2001:db8:0:2::1' })).statusCode, 401, 'another /64 has its own limit')
})
