import type { FastifyInstance } from 'fastify'
import { test } from 'tap'
import { revokeSession } from '../../../src/domain/sessions.js'
import { EMAIL as ADA, loggedIn, logout, me, signedUp, works } from '../../helpers/auth.js'
import { build } from '../../helpers/build.js'

const BOB = 'bob@example.com'

/** Three sessions of Ada and one of Bob. */
async function sessions (app: FastifyInstance) {
  await signedUp(app, ADA)
  await signedUp(app, BOB)
  const ada = [await loggedIn(app, ADA), await loggedIn(app, ADA), await loggedIn(app, ADA)] as const
  const bob = await loggedIn(app, BOB)
  return { ada, bob }
}

test('logout answers 204 with an empty body', async (t) => {
  const app = await build(t)
  const { ada } = await sessions(app)
  const res = await logout(app, ada[0].access_token)
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  t.notOk(res.headers['content-type'])
})

test('logout without a scope revokes only the caller\'s session', async (t) => {
  const app = await build(t)
  const { ada, bob } = await sessions(app)
  t.equal((await logout(app, ada[0].access_token)).statusCode, 204)
  t.same(await works(app, ada[0]), { access: false, refresh: false })
  t.same(await works(app, ada[1]), { access: true, refresh: true })
  t.same(await works(app, ada[2]), { access: true, refresh: true })
  t.same(await works(app, bob), { access: true, refresh: true }, 'another user is untouched')
})

test('logout scope=local revokes only the caller\'s session', async (t) => {
  const app = await build(t)
  const { ada, bob } = await sessions(app)
  t.equal((await logout(app, ada[1].access_token, 'local')).statusCode, 204)
  t.same(await works(app, ada[1]), { access: false, refresh: false })
  t.same(await works(app, ada[0]), { access: true, refresh: true })
  t.same(await works(app, ada[2]), { access: true, refresh: true })
  t.same(await works(app, bob), { access: true, refresh: true }, 'another user is untouched')
})

test('logout scope=others keeps the caller\'s session and revokes the other two', async (t) => {
  const app = await build(t)
  const { ada, bob } = await sessions(app)
  t.equal((await logout(app, ada[0].access_token, 'others')).statusCode, 204)
  t.same(await works(app, ada[1]), { access: false, refresh: false })
  t.same(await works(app, ada[2]), { access: false, refresh: false })
  t.same(await works(app, ada[0]), { access: true, refresh: true })
  t.same(await works(app, bob), { access: true, refresh: true }, 'another user is untouched')
})

test('logout scope=global revokes all three sessions', async (t) => {
  const app = await build(t)
  const { ada, bob } = await sessions(app)
  t.equal((await logout(app, ada[2].access_token, 'global')).statusCode, 204)
  for (const pair of ada) t.same(await works(app, pair), { access: false, refresh: false })
  t.same(await works(app, bob), { access: true, refresh: true }, 'another user is untouched')
})

test('a revoked session\'s access token is refused with invalid_token and a bearer challenge', async (t) => {
  const app = await build(t)
  const { ada } = await sessions(app)
  await logout(app, ada[0].access_token)
  const res = await me(app, ada[0].access_token)
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'invalid_token')
  t.match(res.headers['www-authenticate'], /^Bearer realm="gatehouse", error="invalid_token"/)
  t.equal((await logout(app, ada[0].access_token)).statusCode, 401, 'logging out again is refused too')
})

test('logout without a token is 401 missing_token', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'POST', url: '/auth/logout' })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'missing_token')
  t.equal(res.headers['www-authenticate'], 'Bearer realm="gatehouse"')
})

test('logout with a bad token is 401 invalid_token', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'POST', url: '/auth/logout', headers: { authorization: 'Bearer a.b.c' } })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'invalid_token')
})

test('logout with an unknown scope is 400 invalid_request and revokes nothing', async (t) => {
  const app = await build(t)
  const { ada } = await sessions(app)
  for (const scope of ['everything', 'LOCAL', '']) {
    const res = await logout(app, ada[0].access_token, scope)
    t.equal(res.statusCode, 400, `scope=${scope}`)
    t.equal(res.json().code, 'invalid_request')
  }
  for (const pair of ada) t.same(await works(app, pair), { access: true, refresh: true })
})

test('logout accepts an empty JSON body', async (t) => {
  const app = await build(t)
  const { ada } = await sessions(app)
  const res = await app.inject({
    method: 'POST',
    url: '/auth/logout',
    headers: { authorization: `Bearer ${ada[0].access_token}`, 'content-type': 'application/json' }
  })
  t.equal(res.statusCode, 204)
  t.same(await works(app, ada[0]), { access: false, refresh: false })
})

test('logging out a session another instance already revoked still answers 204', async (t) => {
  const app = await build(t)
  const { ada } = await sessions(app)
  // Revoked in the shared store, not yet synced into this instance's memory.
  await revokeSession(app.store.db, app.sessionRules, ada[0].sid, 'logout', Date.now())
  t.equal((await logout(app, ada[0].access_token)).statusCode, 204)
  t.same(await works(app, ada[0]), { access: false, refresh: false })
  t.same(await works(app, ada[1]), { access: true, refresh: true })
})
