import type { FastifyInstance } from 'fastify'
import { test } from 'tap'
import { build } from '../helpers/build.js'

const EMAIL = 'ada@example.com'
const PASSWORD = 'correct horse battery'

async function tokenFor (app: FastifyInstance, email = EMAIL) {
  await app.inject({ method: 'POST', url: '/auth/signup', payload: { email, password: PASSWORD } })
  const login = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: PASSWORD } })
  return login.json().access_token as string
}

test('GET / without a token greets a guest', async (t) => {
  const app = await build(t)
  const res = await app.inject({ url: '/' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  t.same(res.json(), { message: 'Hello, guest!' })
})

test('GET / with a valid token greets the user by email', async (t) => {
  const app = await build(t)
  const token = await tokenFor(app, '  Ada@Example.com ')
  for (const from of ['the store', 'memory']) {
    const res = await app.inject({ url: '/', headers: { authorization: `Bearer ${token}` } })
    t.equal(res.statusCode, 200, from)
    t.same(res.json(), { message: 'Hello, ada@example.com!' })
  }
})

test('GET / with a present but invalid token is 401 invalid_token, not a guest greeting', async (t) => {
  const app = await build(t)
  const token = await tokenFor(app)
  for (const authorization of ['', 'Bearer garbage', `Bearer ${token.slice(0, -2)}`, `Basic ${token}`]) {
    const res = await app.inject({ url: '/', headers: { authorization } })
    t.equal(res.statusCode, 401, JSON.stringify(authorization.slice(0, 20)))
    t.same(res.json(), { statusCode: 401, error: 'Unauthorized', code: 'invalid_token', message: 'The access token is invalid' })
    t.match(res.headers['www-authenticate'], /^Bearer realm="gatehouse", error="invalid_token"/)
  }
})

test('GET / with the token of a deleted account is 401 invalid_token', async (t) => {
  const app = await build(t)
  const token = await tokenFor(app)
  await app.store.db.deleteFrom('users').execute()
  const res = await app.inject({ url: '/', headers: { authorization: `Bearer ${token}` } })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'invalid_token')
})

test('GET / is not subject to the /auth rate limit', async (t) => {
  const app = await build(t, { RATE_LIMIT_MAX: '1' })
  for (let i = 0; i < 5; i++) t.equal((await app.inject({ url: '/' })).statusCode, 200)
})
