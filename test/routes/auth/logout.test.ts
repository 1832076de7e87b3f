import type { FastifyInstance } from 'fastify'
import { test } from 'tap'
import { revokeSession } from '../../../src/sessions.js'
import { build } from '../../helpers/build.js'

const PASSWORD = 'correct horse battery'
const ADA = 'ada@example.com'
const BOB = 'bob@example.com'

interface Pair { access_token: string, refresh_token: string }

async function signup (app: FastifyInstance, email: string) {
  const res = await app.inject({ method: 'POST', url: '/auth/signup', payload: { email, password: PASSWORD } })
  if (res.statusCode !== 201) throw new Error(`signup failed: ${res.statusCode} ${res.body}`)
}

async function login (app: FastifyInstance, email: string): Promise<Pair> {
  const res = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: PASSWORD } })
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`)
  return res.json()
}

function logout (app: FastifyInstance, accessToken: string, scope?: string) {
  return app.inject({
    method: 'POST',
    url: scope === undefined ? '/auth/logout' : `/auth/logout?scope=${scope}`,
    headers: { authorization: `Bearer ${accessToken}` }
  })
}

/** Whether a pair still works: its access token is accepted and its refresh token is not refused. */
async function works (app: FastifyInstance, pair: Pair) {
  const me = await app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${pair.access_token}` } })
  // Sessions cannot be refreshed again with the same token, so this is checked last.
  const refreshed = await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: pair.refresh_token } })
  return { access: me.statusCode === 200, refresh: refreshed.statusCode === 200 }
}

/** Three sessions of Ada and one of Bob. */
async function sessions (app: FastifyInstance) {
  await signup(app, ADA)
  await signup(app, BOB)
  const ada = [await login(app, ADA), await login(app, ADA), await login(app, ADA)] as const
  const bob = await login(app, BOB)
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
  const res = await app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${ada[0].access_token}` } })
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
  const sid = JSON.parse(Buffer.from(String(ada[0].access_token.split('.')[1]), 'base64url').toString('utf8')).sid
  // Revoked in the shared store, not yet synced into this instance's memory.
  await revokeSession(app.store.db, app.sessionRules, sid, 'logout')
  t.equal((await logout(app, ada[0].access_token)).statusCode, 204)
  t.same(await works(app, ada[0]), { access: false, refresh: false })
  t.same(await works(app, ada[1]), { access: true, refresh: true })
})
