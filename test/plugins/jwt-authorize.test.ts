import type { FastifyInstance } from 'fastify'
import { test } from 'tap'
import { build } from '../helpers/build.js'
import { assertUnauthorized, reissue, signupAndLogin } from '../helpers/forge.js'

// `authorize(...roles)`: a valid token without every role is 403, no token is 401.

function adminRoutes (app: FastifyInstance) {
  app.get('/admin', { preHandler: app.authorize('admin') }, async () => ({ ok: true }))
  // The plugin's documented pairing: authenticate first, then authorize.
  app.get('/admin-chained', { preHandler: [app.authenticate, app.authorize('admin')] }, async () => ({ ok: true }))
}

test('a token without the required role is 403 forbidden', async (t) => {
  const app = await build(t, {}, { setup: adminRoutes })
  const { token } = await signupAndLogin(app)
  const res = await app.inject({ method: 'GET', url: '/admin', headers: { authorization: `Bearer ${token}` } })
  t.equal(res.statusCode, 403)
  t.strictSame(res.json(), {
    statusCode: 403,
    error: 'Forbidden',
    code: 'forbidden',
    message: 'The access token does not grant the required role'
  })
  t.equal(res.headers['www-authenticate'], 'Bearer realm="gatehouse", error="insufficient_scope"')
})

test('a route that needs a role answers 401 missing_token without a token', async (t) => {
  const app = await build(t, {}, { setup: adminRoutes })
  await assertUnauthorized(t, app, { url: '/admin' }, 'missing_token')
})

test('a route that needs a role answers 401 invalid_token for a bad token', async (t) => {
  const app = await build(t, {}, { setup: adminRoutes })
  const { token } = await signupAndLogin(app)
  await assertUnauthorized(t, app, { url: '/admin', headers: { authorization: `Bearer ${token}x` } })
})

test('a token carrying the required role is let through', async (t) => {
  const app = await build(t, {}, { setup: adminRoutes })
  const { token } = await signupAndLogin(app)
  const admin = reissue(app, token, { roles: ['admin'] })
  const res = await app.inject({ method: 'GET', url: '/admin', headers: { authorization: `Bearer ${admin}` } })
  t.equal(res.statusCode, 200)
  t.strictSame(res.json(), { ok: true })
})

test('authorize after authenticate checks the role once the token is accepted', async (t) => {
  const app = await build(t, {}, { setup: adminRoutes })
  const { token } = await signupAndLogin(app)
  const user = await app.inject({ method: 'GET', url: '/admin-chained', headers: { authorization: `Bearer ${token}` } })
  t.equal(user.statusCode, 403)
  t.equal(user.json<{ code: string }>().code, 'forbidden')
  const admin = reissue(app, token, { roles: ['user', 'admin'] })
  const ok = await app.inject({ method: 'GET', url: '/admin-chained', headers: { authorization: `Bearer ${admin}` } })
  t.equal(ok.statusCode, 200)
})
