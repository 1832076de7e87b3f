import type { FastifyInstance } from 'fastify'
import { test } from 'tap'
import { loggedIn, signedUp } from '../../helpers/auth.js'
import { build } from '../../helpers/build.js'

/** Signs Ada up and logs her in. */
async function ada (app: FastifyInstance) {
  const user = await signedUp(app)
  const { access_token: accessToken, refresh_token: refreshToken } = await loggedIn(app)
  return { user, accessToken, refreshToken }
}

/** GET /auth/me with this exact Authorization header (none when undefined), unlike helpers/auth.ts `me`. */
function meWith (app: FastifyInstance, authorization?: string) {
  return app.inject({ url: '/auth/me', headers: authorization === undefined ? {} : { authorization } })
}

test('GET /auth/me answers 200 with exactly the token owner {user}', async (t) => {
  const app = await build(t)
  const { user, accessToken } = await ada(app)
  const res = await meWith(app, `Bearer ${accessToken}`)
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  t.same(res.json(), { user })
  t.same(Object.keys(res.json().user).sort(), ['created_at', 'email', 'id', 'roles'])
  t.same(res.json().user.roles, ['user'])
  t.match(res.json().user.created_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
})

test('GET /auth/me never shows the password hash', async (t) => {
  const app = await build(t)
  const { accessToken } = await ada(app)
  const res = await meWith(app, `Bearer ${accessToken}`)
  const row = await app.store.db.selectFrom('users').select('password_hash').executeTakeFirstOrThrow()
  t.notOk(res.body.includes(row.password_hash))
  t.notMatch(res.body, /argon2|password/i)
})

test('the Bearer scheme is case-insensitive', async (t) => {
  const app = await build(t)
  const { accessToken } = await ada(app)
  for (const scheme of ['bearer', 'BEARER', 'BeArEr']) {
    t.equal((await meWith(app, `${scheme} ${accessToken}`)).statusCode, 200, scheme)
  }
})

test('GET /auth/me without a token is 401 missing_token with a bare Bearer challenge', async (t) => {
  const app = await build(t)
  const res = await meWith(app)
  t.equal(res.statusCode, 401)
  t.same(res.json(), { statusCode: 401, error: 'Unauthorized', code: 'missing_token', message: 'An access token is required' })
  t.equal(res.headers['www-authenticate'], 'Bearer realm="gatehouse"')
})

test('a token in the query string is not accepted', async (t) => {
  const app = await build(t)
  const { accessToken } = await ada(app)
  for (const name of ['access_token', 'token']) {
    const res = await app.inject({ url: `/auth/me?${name}=${accessToken}` })
    t.equal(res.statusCode, 401)
    t.equal(res.json().code, 'missing_token')
  }
})

test('a malformed Authorization header is 401 invalid_token with an invalid_token challenge', async (t) => {
  const app = await build(t)
  const { accessToken } = await ada(app)
  const bad = ['', 'Bearer', 'Bearer ', `Bearer  ${accessToken}`, `Basic ${accessToken}`, `Token ${accessToken}`,
    `Bearer ${accessToken} extra`, 'Bearer not.a.jwt', `Bearer ${accessToken}x`, 'Bearer a.b']
  for (const authorization of bad) {
    const res = await meWith(app, authorization)
    t.equal(res.statusCode, 401, JSON.stringify(authorization.slice(0, 20)))
    t.equal(res.json().code, 'invalid_token')
    t.match(res.headers['www-authenticate'], /^Bearer realm="gatehouse", error="invalid_token", error_description="[^"]*"$/)
  }
})

test('the refresh token is not accepted as a bearer token', async (t) => {
  const app = await build(t)
  const { refreshToken } = await ada(app)
  const res = await meWith(app, `Bearer ${refreshToken}`)
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'invalid_token')
})

test('a token that outlives its account is 401 invalid_token', async (t) => {
  const app = await build(t)
  const { user, accessToken } = await ada(app)
  await app.store.db.deleteFrom('users').where('id', '=', user.id).execute()
  const res = await meWith(app, `Bearer ${accessToken}`)
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'invalid_token')
  t.notMatch(res.body, new RegExp(user.id))
})

test('a token issued by another server with its own keys is refused', async (t) => {
  const other = await build(t)
  const { accessToken } = await ada(other)
  const app = await build(t)
  await ada(app)
  const res = await meWith(app, `Bearer ${accessToken}`)
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'invalid_token')
})

test('replies of /auth/* carry Cache-Control: no-store, errors included', async (t) => {
  const app = await build(t)
  const { accessToken } = await ada(app)
  t.equal((await meWith(app, `Bearer ${accessToken}`)).headers['cache-control'], 'no-store')
  t.equal((await app.inject({ url: '/auth/sessions', headers: { authorization: `Bearer ${accessToken}` } })).headers['cache-control'], 'no-store')
  t.equal((await meWith(app)).headers['cache-control'], 'no-store')
})
