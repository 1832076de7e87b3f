import { test } from 'tap'
import { build } from '../helpers/build.js'

test('GET /health answers 200 {status: "ok"}', async (t) => {
  const app = await build(t)
  const res = await app.inject({ url: '/health' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  t.same(res.json(), { status: 'ok' })
})

test('GET /ready answers 200 {status: "ok"} while the store answers', async (t) => {
  const app = await build(t)
  const res = await app.inject({ url: '/ready' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ok' })
})

test('GET /ready is 503 not_ready once the store is closed, while /health stays 200', async (t) => {
  const app = await build(t)
  await app.store.db.destroy()
  const res = await app.inject({ url: '/ready' })
  t.equal(res.statusCode, 503)
  t.same(res.json(), { statusCode: 503, error: 'Service Unavailable', code: 'not_ready', message: 'The store is not answering' })
  t.notMatch(res.body, /kysely|sqlite|destroy|driver/i)
  t.same((await app.inject({ url: '/health' })).json(), { status: 'ok' })
})

test('GET /ready is 503 not_ready when the store does not answer within readyTimeout', async (t) => {
  const app = await build(t, {}, { timings: { readyTimeout: 100 } })
  // A store that hangs (a stuck connection) rather than failing fast.
  app.store.ping = () => new Promise(() => {})
  const started = Date.now()
  const res = await app.inject({ url: '/ready' })
  const waited = Date.now() - started
  t.equal(res.statusCode, 503)
  t.same(res.json(), { statusCode: 503, error: 'Service Unavailable', code: 'not_ready', message: 'The store is not answering' })
  t.ok(waited >= 95, `waited the timeout (${waited} ms) before giving up`)
  t.ok(waited < 2000, 'and not the default two seconds')
})

test('GET /ready waits readyTimeout for a slow store that then answers', async (t) => {
  const app = await build(t, {}, { timings: { readyTimeout: 1000 } })
  const ping = app.store.ping.bind(app.store)
  app.store.ping = () => new Promise(resolve => setTimeout(resolve, 50)).then(ping)
  const res = await app.inject({ url: '/ready' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ok' })
})

test('a store failure during signup is a 500 internal_error that shows nothing internal', async (t) => {
  const app = await build(t)
  await app.store.db.destroy()
  const res = await app.inject({ method: 'POST', url: '/auth/signup', payload: { email: 'ada@example.com', password: 'correct horse battery' } })
  t.equal(res.statusCode, 500)
  t.same(res.json(), { statusCode: 500, error: 'Internal Server Error', code: 'internal_error', message: 'Something went wrong on our side' })
})

test('health and readiness are not subject to the /auth rate limit', async (t) => {
  const app = await build(t, { RATE_LIMIT_MAX: '1' })
  for (let i = 0; i < 5; i++) {
    t.equal((await app.inject({ url: '/health' })).statusCode, 200)
    t.equal((await app.inject({ url: '/ready' })).statusCode, 200)
  }
})
