import type { FastifyInstance } from 'fastify'
import { test } from 'tap'
import { bearer, EMAIL as ADA, loggedIn, logout, PASSWORD, refresh, signedUp, works } from '../../helpers/auth.js'
import { build } from '../../helpers/build.js'
import { testClock } from '../../helpers/clock.js'

const BOB = 'bob@example.com'

interface SessionEntry {
  id: string
  created_at: string
  last_used_at: string
  user_agent: string | null
  ip: string | null
  current: boolean
}

/** Logs in with a User-Agent, so the listed sessions have one to show. */
const login = (app: FastifyInstance, email: string, userAgent = 'test-agent/1.0') => loggedIn(app, email, PASSWORD, { headers: { 'user-agent': userAgent } })

async function list (app: FastifyInstance, pair: { access_token: string }): Promise<SessionEntry[]> {
  const res = await app.inject({ method: 'GET', url: '/auth/sessions', headers: bearer(pair.access_token) })
  if (res.statusCode !== 200) throw new Error(`list failed: ${res.statusCode} ${res.body}`)
  return res.json().sessions
}

function remove (app: FastifyInstance, pair: { access_token: string }, id: string) {
  return app.inject({ method: 'DELETE', url: `/auth/sessions/${id}`, headers: bearer(pair.access_token) })
}

test('the session list holds only the caller\'s live sessions, with exactly one current', async (t) => {
  const app = await build(t)
  await signedUp(app, ADA)
  await signedUp(app, BOB)
  const first = await login(app, ADA, 'agent-one')
  const second = await login(app, ADA, 'agent-two')
  const third = await login(app, ADA, 'agent-three')
  await login(app, BOB)
  t.equal((await logout(app, third.access_token)).statusCode, 204)

  const before = Date.now()
  const sessions = await list(app, second)
  t.equal(sessions.length, 2, 'the revoked session and Bob\'s are not listed')
  t.same(sessions.map(s => s.id).sort(), [first.sid, second.sid].sort())
  const current = sessions.filter(s => s.current)
  t.equal(current.length, 1)
  t.equal(current[0]?.id, second.sid)
  for (const session of sessions) {
    t.same(Object.keys(session).sort(), ['created_at', 'current', 'id', 'ip', 'last_used_at', 'user_agent'])
    t.equal(new Date(session.created_at).toISOString(), session.created_at, 'created_at is ISO 8601')
    t.equal(new Date(session.last_used_at).toISOString(), session.last_used_at, 'last_used_at is ISO 8601')
    t.ok(Date.parse(session.created_at) <= before)
    t.equal(session.ip, '127.0.0.1')
  }
  t.same(Object.fromEntries(sessions.map(s => [s.id, s.user_agent])), { [first.sid]: 'agent-one', [second.sid]: 'agent-two' })
})

test('listed sessions carry no token or hash', async (t) => {
  const app = await build(t)
  await signedUp(app, ADA)
  const pair = await login(app, ADA)
  const res = await app.inject({ method: 'GET', url: '/auth/sessions', headers: bearer(pair.access_token) })
  t.notOk(res.body.includes(pair.refresh_token))
  const hashes = await app.store.db.selectFrom('refresh_tokens').select('token_hash').execute()
  for (const { token_hash: hash } of hashes) t.notOk(res.body.includes(hash))
})

test('a refresh moves the session\'s last_used_at', async (t) => {
  const clock = testClock()
  const app = await build(t, {}, { clock })
  await signedUp(app, ADA)
  const pair = await login(app, ADA)
  const [created] = await list(app, pair)
  clock.advance(20_000)
  const refreshed = await refresh(app, pair.refresh_token)
  const [used] = await list(app, refreshed.json())
  t.equal(used?.created_at, created?.created_at)
  t.equal(Date.parse(String(used?.last_used_at)) - Date.parse(String(created?.last_used_at)), 20_000, 'to the time of the refresh')
})

test('sessions past their idle limit are not listed', async (t) => {
  const clock = testClock()
  const app = await build(t, { REFRESH_TOKEN_TTL: '1' }, { clock })
  await signedUp(app, ADA)
  const old = await login(app, ADA)
  clock.advance(999)
  const fresh = await login(app, ADA)
  t.same((await list(app, fresh)).map(s => s.id).sort(), [old.sid, fresh.sid].sort(), 'both listed just before the old one\'s idle limit')
  clock.advance(1)
  t.same((await list(app, fresh)).map(s => s.id), [fresh.sid], 'the old one is gone from its limit on')
  t.not(old.sid, fresh.sid)
})

test('listing sessions without a token is 401', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'GET', url: '/auth/sessions' })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'missing_token')
})

test('deleting one of the caller\'s other sessions answers 204 and revokes it at once', async (t) => {
  const app = await build(t)
  await signedUp(app, ADA)
  const caller = await login(app, ADA)
  const other = await login(app, ADA)
  const res = await remove(app, caller, other.sid)
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  t.same(await works(app, other), { access: false, refresh: false })
  t.same((await list(app, caller)).map(s => s.id), [caller.sid])
  t.same(await works(app, caller), { access: true, refresh: true })
})

test('deleting the caller\'s own current session revokes it', async (t) => {
  const app = await build(t)
  await signedUp(app, ADA)
  const caller = await login(app, ADA)
  t.equal((await remove(app, caller, caller.sid)).statusCode, 204)
  t.same(await works(app, caller), { access: false, refresh: false })
})

test('deleting another user\'s session is 404 not_found and that session keeps working', async (t) => {
  const app = await build(t)
  await signedUp(app, ADA)
  await signedUp(app, BOB)
  const ada = await login(app, ADA)
  const bob = await login(app, BOB)
  const res = await remove(app, ada, bob.sid)
  t.equal(res.statusCode, 404)
  t.equal(res.json().code, 'not_found')
  t.same(await works(app, bob), { access: true, refresh: true })
})

test('deleting an already revoked session is 404 not_found', async (t) => {
  const app = await build(t)
  await signedUp(app, ADA)
  const caller = await login(app, ADA)
  const other = await login(app, ADA)
  t.equal((await remove(app, caller, other.sid)).statusCode, 204)
  const again = await remove(app, caller, other.sid)
  t.equal(again.statusCode, 404)
  t.equal(again.json().code, 'not_found')
})

test('deleting a session with a nonsense id is 404 not_found', async (t) => {
  const app = await build(t)
  await signedUp(app, ADA)
  const caller = await login(app, ADA)
  for (const id of ['nope', '0', 'x'.repeat(64), 'x'.repeat(90), encodeURIComponent("' or 1=1 --"), '%E2%98%83']) {
    const res = await remove(app, caller, id)
    t.equal(res.statusCode, 404, id)
    t.equal(res.json().code, 'not_found')
  }
  t.same(await works(app, caller), { access: true, refresh: true })
})

test('deleting a session without a token is 401', async (t) => {
  const app = await build(t)
  await signedUp(app, ADA)
  const pair = await login(app, ADA)
  const res = await app.inject({ method: 'DELETE', url: `/auth/sessions/${pair.sid}` })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'missing_token')
  t.same(await works(app, pair), { access: true, refresh: true })
})
