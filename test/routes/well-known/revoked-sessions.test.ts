import type { FastifyInstance } from 'fastify'
import { test } from 'tap'
import { loggedIn, loggedOut, signedUp } from '../../helpers/auth.js'
import { build } from '../../helpers/build.js'
import { testClock } from '../../helpers/clock.js'

interface Feed { sessions: Array<{ sid: string, exp: number }>, cursor: string }

async function feed (app: FastifyInstance, since?: string): Promise<Feed> {
  const res = await app.inject({ method: 'GET', url: '/.well-known/revoked-sessions', query: since === undefined ? {} : { since } })
  if (res.statusCode !== 200) throw new Error(`feed failed: ${res.statusCode} ${res.body}`)
  return res.json()
}

test('with no revocations the feed is empty and has a cursor', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'GET', url: '/.well-known/revoked-sessions' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  const body = res.json()
  t.same(Object.keys(body).sort(), ['cursor', 'sessions'])
  t.same(body.sessions, [])
  t.type(body.cursor, 'string')
  t.same(await feed(app, body.cursor), body, 'following the cursor of an empty feed gives the same')
})

test('revoked sessions are listed with sid and exp about now + ACCESS_TOKEN_TTL in Unix seconds', async (t) => {
  const app = await build(t, { ACCESS_TOKEN_TTL: '600' })
  await signedUp(app)
  const first = await loggedIn(app)
  const second = await loggedIn(app)
  const live = await loggedIn(app)
  const before = Math.floor(Date.now() / 1000)
  await loggedOut(app, first.access_token)
  await loggedOut(app, second.access_token)
  const after = Math.ceil(Date.now() / 1000)

  const { sessions } = await feed(app)
  t.same(sessions.map(s => s.sid), [first.sid, second.sid], 'oldest first, the live session absent')
  t.notOk(sessions.some(s => s.sid === live.sid))
  for (const entry of sessions) {
    t.same(Object.keys(entry).sort(), ['exp', 'sid'])
    t.ok(Number.isInteger(entry.exp))
    t.ok(entry.exp >= before + 600 && entry.exp <= after + 600, `exp ${entry.exp} is now + 600 s`)
  }
})

test('following the cursor returns only revocations made after it', async (t) => {
  const app = await build(t)
  await signedUp(app)
  const [a, b, c] = [await loggedIn(app), await loggedIn(app), await loggedIn(app)]
  await loggedOut(app, a.access_token)
  const page1 = await feed(app)
  t.same(page1.sessions.map(s => s.sid), [a.sid])

  await loggedOut(app, b.access_token)
  await loggedOut(app, c.access_token)
  const page2 = await feed(app, page1.cursor)
  t.same(page2.sessions.map(s => s.sid), [b.sid, c.sid])
  t.not(page2.cursor, page1.cursor)

  const page3 = await feed(app, page2.cursor)
  t.same(page3.sessions, [], 'nothing newer')
  t.equal(page3.cursor, page2.cursor)
})

test('every session a global logout revokes appears in the feed', async (t) => {
  const app = await build(t)
  await signedUp(app)
  const sessions = [await loggedIn(app), await loggedIn(app), await loggedIn(app)]
  const res = await app.inject({ method: 'POST', url: '/auth/logout?scope=global', headers: { authorization: `Bearer ${sessions[0]?.access_token}` } })
  t.equal(res.statusCode, 204)
  t.same((await feed(app)).sessions.map(s => s.sid).sort(), sessions.map(s => s.sid).sort())
})

test('revocations whose access tokens have all expired are left out after a margin', async (t) => {
  const app = await build(t, { ACCESS_TOKEN_TTL: '1', SESSION_MAX_AGE: '60' })
  await signedUp(app)
  const old = await loggedIn(app)
  await loggedOut(app, old.access_token)
  const now = await feed(app)
  t.same(now.sessions.map(s => s.sid), [old.sid])
  // Backdate the revocation past its tokens' expiry and the 60 s margin for verifiers' clock tolerance.
  await app.store.db.updateTable('revocations').set({ expires_at: Date.now() - 61_000 }).execute()
  const later = await feed(app)
  t.same(later.sessions, [])
  t.equal(later.cursor, now.cursor, 'the cursor still moves past them')
  t.not(later.cursor, '0')
})

test('a revocation is listed until its access tokens and the margin have expired by the app clock, to the millisecond', async (t) => {
  const clock = testClock()
  const app = await build(t, {}, { clock })
  await signedUp(app)
  const session = await loggedIn(app)
  await loggedOut(app, session.access_token)
  const { expires_at: expiresAt } = await app.store.db.selectFrom('revocations').select('expires_at').executeTakeFirstOrThrow()
  clock.advance(Number(expiresAt) + 60_000 - 1 - clock.now())
  t.same((await feed(app)).sessions.map(s => s.sid), [session.sid], 'a millisecond before the margin has passed')
  clock.advance(1)
  t.same((await feed(app)).sessions, [], 'then left out')
})

test('a cursor that is not a non-negative integer is 400 invalid_request', async (t) => {
  const app = await build(t)
  for (const since of ['abc', '-1', '1.5', '1'.repeat(40), '1e3', ' 1', '0x10']) {
    const res = await app.inject({ method: 'GET', url: '/.well-known/revoked-sessions', query: { since } })
    t.equal(res.statusCode, 400, `since=${JSON.stringify(since)}`)
    t.equal(res.json().code, 'invalid_request')
    t.notMatch(res.body, /FST_|ajv|stack/i)
  }
})

test('the feed needs no credentials and ignores a bad bearer token', async (t) => {
  const app = await build(t)
  await signedUp(app)
  const session = await loggedIn(app)
  await loggedOut(app, session.access_token)
  const anonymous = await app.inject({ method: 'GET', url: '/.well-known/revoked-sessions' })
  t.equal(anonymous.statusCode, 200)
  t.notOk(anonymous.headers['www-authenticate'])
  t.same(anonymous.json().sessions.map((s: { sid: string }) => s.sid), [session.sid])
  const garbage = await app.inject({ method: 'GET', url: '/.well-known/revoked-sessions', headers: { authorization: 'Bearer not.a.token' } })
  t.equal(garbage.statusCode, 200)
})

test('a cursor past the newest revocation was not issued here: 400 invalid_request', async (t) => {
  const app = await build(t)
  await signedUp(app)
  await loggedOut(app, (await loggedIn(app)).access_token)
  const { cursor } = await feed(app)
  t.equal((await app.inject({ url: `/.well-known/revoked-sessions?since=${cursor}` })).statusCode, 200, 'the newest cursor is fine')
  const ahead = await app.inject({ url: `/.well-known/revoked-sessions?since=${Number(cursor) + 1}` })
  t.equal(ahead.statusCode, 400)
  t.equal(ahead.json().code, 'invalid_request')
})
