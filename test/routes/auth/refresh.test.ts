import type { AddressInfo } from 'node:net'
import { mock } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { test } from 'tap'
import { claims, EMAIL, loggedIn, me, refresh, signedUp, type TokenReply } from '../../helpers/auth.js'
import { build } from '../../helpers/build.js'
import { testClock } from '../../helpers/clock.js'

/** Refreshes and fails the test setup unless it succeeded. */
async function rotate (app: FastifyInstance, refreshToken: string): Promise<TokenReply> {
  const res = await refresh(app, refreshToken)
  if (res.statusCode !== 200) throw new Error(`refresh failed: ${res.statusCode} ${res.body}`)
  return res.json()
}

async function sessionRow (app: FastifyInstance, sid: string) {
  return app.store.db.selectFrom('sessions').selectAll().where('id', '=', sid).executeTakeFirstOrThrow()
}

test('refresh answers 200 with a token reply of the same shape as login, not cacheable', async (t) => {
  const app = await build(t)
  await signedUp(app)
  const first = await loggedIn(app)
  const before = Math.floor(Date.now() / 1000)
  const res = await refresh(app, first.refresh_token)
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  t.equal(res.headers['cache-control'], 'no-store')
  const body = res.json()
  t.same(Object.keys(body).sort(), ['access_token', 'expires_at', 'expires_in', 'refresh_token', 'token_type', 'user'])
  t.equal(body.token_type, 'Bearer')
  t.equal(body.expires_in, 900)
  t.ok(body.expires_at >= before + 900 && body.expires_at <= Math.floor(Date.now() / 1000) + 900, 'expires_at is now + expires_in')
  t.same(body.user, first.user)
  t.match(body.refresh_token, /^[A-Za-z0-9_-]{43,}$/)
})

test('the refreshed access token carries the same session id and a different refresh token', async (t) => {
  const app = await build(t)
  await signedUp(app)
  const first = await loggedIn(app)
  const second = await rotate(app, first.refresh_token)
  t.equal(claims(second.access_token).sid, claims(first.access_token).sid)
  t.equal(claims(second.access_token).sub, first.user.id)
  t.not(claims(second.access_token).jti, claims(first.access_token).jti)
  t.not(second.refresh_token, first.refresh_token)
  t.equal((await me(app, second.access_token)).statusCode, 200)
})

test('the access token issued before a refresh keeps working', async (t) => {
  const app = await build(t)
  await signedUp(app)
  const first = await loggedIn(app)
  await rotate(app, first.refresh_token)
  const res = await me(app, first.access_token)
  t.equal(res.statusCode, 200)
  t.equal(res.json().user.email, EMAIL)
})

test('rotated refresh tokens are stored only as hashes', async (t) => {
  const app = await build(t)
  await signedUp(app)
  const first = await loggedIn(app)
  const second = await rotate(app, first.refresh_token)
  const third = await rotate(app, second.refresh_token)
  const tokens = [first.refresh_token, second.refresh_token, third.refresh_token]
  const rows = [
    ...await app.store.db.selectFrom('refresh_tokens').selectAll().execute(),
    ...await app.store.db.selectFrom('sessions').selectAll().execute()
  ]
  t.equal(rows.length, 4, 'three refresh tokens and one session')
  for (const row of rows) {
    for (const value of Object.values(row)) {
      for (const token of tokens) {
        t.not(value, token)
        if (typeof value === 'string') t.notOk(value.includes(token), 'no column contains a token')
      }
    }
  }
})

test('an unknown refresh token is refused with 401 invalid_grant', async (t) => {
  const app = await build(t)
  await signedUp(app)
  await loggedIn(app)
  const res = await refresh(app, 'A'.repeat(43))
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'invalid_grant')
  t.notOk(res.headers['www-authenticate'], 'not a bearer-token failure')
})

test('an empty refresh token is refused with 401 invalid_grant', async (t) => {
  const app = await build(t)
  const res = await refresh(app, '')
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'invalid_grant')
})

test('a 500-character refresh token is refused with 401 invalid_grant', async (t) => {
  const app = await build(t)
  const res = await refresh(app, 'x'.repeat(500))
  t.equal(res.statusCode, 401)
  t.same(Object.keys(res.json()).sort(), ['code', 'error', 'message', 'statusCode'])
  t.equal(res.json().code, 'invalid_grant')
})

test('a refresh token that is not a string is refused with 400 invalid_request', async (t) => {
  const app = await build(t)
  for (const value of [42, null, true, ['token'], { token: 'x' }]) {
    const res = await refresh(app, value)
    t.equal(res.statusCode, 400, JSON.stringify(value))
    t.equal(res.json().code, 'invalid_request')
  }
  const missing = await app.inject({ method: 'POST', url: '/auth/refresh', payload: {} })
  t.equal(missing.statusCode, 400)
  t.equal(missing.json().code, 'invalid_request')
})

test('with REFRESH_REUSE_INTERVAL=0, presenting a spent refresh token revokes the whole session at once', async (t) => {
  const app = await build(t, { REFRESH_REUSE_INTERVAL: '0' })
  await signedUp(app)
  const a = await loggedIn(app)
  const b = await rotate(app, a.refresh_token)

  const replay = await refresh(app, a.refresh_token)
  t.equal(replay.statusCode, 401)
  t.equal(replay.json().code, 'invalid_grant')

  const newest = await refresh(app, b.refresh_token)
  t.equal(newest.statusCode, 401, 'the newest refresh token dies with the session')
  t.equal(newest.json().code, 'invalid_grant')
  const access = await me(app, b.access_token)
  t.equal(access.statusCode, 401, 'the newest access token is refused before it expires')
  t.equal(access.json().code, 'invalid_token')
  t.equal((await me(app, a.access_token)).statusCode, 401, 'so is the first one')

  const sid = claims(a.access_token).sid
  t.equal((await sessionRow(app, sid)).revoked_reason, 'refresh_token_reuse')
  const audit = await app.store.db.selectFrom('audit_events').selectAll().where('type', '=', 'refresh_reuse').execute()
  t.equal(audit.length, 1)
  t.equal(audit[0]?.session_id, sid)
  t.equal(audit[0]?.user_id, a.user.id)
})

test('reuse in one session leaves the user\'s other sessions alone', async (t) => {
  const app = await build(t, { REFRESH_REUSE_INTERVAL: '0' })
  await signedUp(app)
  const other = await loggedIn(app)
  const a = await loggedIn(app)
  await rotate(app, a.refresh_token)
  t.equal((await refresh(app, a.refresh_token)).statusCode, 401)
  t.equal((await me(app, other.access_token)).statusCode, 200)
  t.equal((await refresh(app, other.refresh_token)).statusCode, 200)
})

/** Ten refreshes of one token sent at once over real HTTP. */
async function concurrentRefreshes (app: FastifyInstance, refreshToken: string) {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  return Promise.all(Array.from({ length: 10 }, async () => {
    const res = await fetch(`http://127.0.0.1:${port}/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: refreshToken })
    })
    return { status: res.status, body: await res.json() as Record<string, unknown> }
  }))
}

test('with the default reuse interval, ten concurrent refreshes of one token all get the same child and the session lives on', async (t) => {
  const app = await build(t)
  t.equal(app.config.refreshReuseInterval, 10, 'the default interval is 10 s')
  await signedUp(app)
  const first = await loggedIn(app)
  const replies = await concurrentRefreshes(app, first.refresh_token)

  t.same(replies.map(r => r.status), Array(10).fill(200), 'every copy answered 200')
  const children = new Set(replies.map(r => r.body.refresh_token))
  t.equal(children.size, 1, 'one child refresh token for all of them')
  t.equal(new Set(replies.map(r => r.body.access_token)).size, 10, 'each got its own access token')
  const minted = await app.store.db.selectFrom('refresh_tokens').select('token_hash').execute()
  t.equal(minted.length, 2, 'the parent and one child: nothing else was minted')

  for (const reply of replies) t.equal((await me(app, String(reply.body.access_token))).statusCode, 200)
  t.equal((await refresh(app, String(replies[0]?.body.refresh_token))).statusCode, 200, 'the child rotates')
  t.equal((await sessionRow(app, first.sid)).revoked_at, null, 'the session was not revoked')
})

test('with REFRESH_REUSE_INTERVAL=0, ten concurrent refreshes of one token: one wins and the copies revoke the session', async (t) => {
  const app = await build(t, { REFRESH_REUSE_INTERVAL: '0' })
  await signedUp(app)
  const first = await loggedIn(app)
  const replies = await concurrentRefreshes(app, first.refresh_token)

  const winners = replies.filter(r => r.status === 200)
  const losers = replies.filter(r => r.status !== 200)
  t.equal(winners.length, 1, 'one 200')
  t.equal(losers.length, 9, 'nine refused')
  for (const loser of losers) {
    t.equal(loser.status, 401)
    t.equal(loser.body.code, 'invalid_grant')
  }
  const winner = winners[0]?.body as unknown as TokenReply
  t.equal((await me(app, winner.access_token)).statusCode, 401, 'even the winner\'s access token is refused: the session is revoked')
  t.equal((await refresh(app, winner.refresh_token)).statusCode, 401, 'and its refresh token')
  t.equal((await sessionRow(app, first.sid)).revoked_reason, 'refresh_token_reuse')
  const reuse = await app.store.db.selectFrom('audit_events').selectAll().where('type', '=', 'refresh_reuse').execute()
  t.ok(reuse.length >= 1, 'the reuse is audited')
})

test('no refresh reply waits on a timer: refreshes and replays answer while every timer is frozen', async (t) => {
  const app = await build(t)
  await signedUp(app)
  const first = await loggedIn(app)
  mock.timers.enable({ apis: ['setTimeout', 'setInterval'] })
  t.teardown(() => mock.timers.reset())
  const rotated = await refresh(app, first.refresh_token)
  const replayed = await refresh(app, first.refresh_token)
  mock.timers.reset()
  t.equal(rotated.statusCode, 200)
  t.equal(replayed.statusCode, 200)
  t.equal(replayed.json().refresh_token, rotated.json().refresh_token)
})

test('a retry of the parent after a lost reply, within the interval, returns the same child and a new working access token', async (t) => {
  // A clock that stands still: every replay below is inside the interval.
  const app = await build(t, { REFRESH_REUSE_INTERVAL: '2' }, { clock: testClock() })
  await signedUp(app)
  const a = await loggedIn(app)
  const b = await rotate(app, a.refresh_token)
  const countBefore = (await app.store.db.selectFrom('refresh_tokens').select('token_hash').execute()).length

  const replay = await refresh(app, a.refresh_token)
  t.equal(replay.statusCode, 200)
  t.equal(replay.headers['cache-control'], 'no-store')
  const again = replay.json() as TokenReply
  t.equal(again.refresh_token, b.refresh_token, 'the same child refresh token')
  t.not(again.access_token, b.access_token, 'a fresh access token')
  t.equal(claims(again.access_token).sid, claims(b.access_token).sid)
  t.equal((await me(app, again.access_token)).statusCode, 200)
  const countAfter = (await app.store.db.selectFrom('refresh_tokens').select('token_hash').execute()).length
  t.equal(countAfter, countBefore, 'no new refresh token was minted')

  t.equal((await refresh(app, b.refresh_token)).statusCode, 200, 'the child still rotates')
})

test('with a reuse interval, replaying the grandparent is reuse and revokes the session', async (t) => {
  // A clock that stands still: every replay below is inside the interval.
  const app = await build(t, { REFRESH_REUSE_INTERVAL: '2' }, { clock: testClock() })
  await signedUp(app)
  const a = await loggedIn(app)
  const b = await rotate(app, a.refresh_token)
  const c = await rotate(app, b.refresh_token)

  const res = await refresh(app, a.refresh_token)
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'invalid_grant')
  t.equal((await refresh(app, c.refresh_token)).statusCode, 401, 'the newest refresh token is dead')
  t.equal((await me(app, c.access_token)).statusCode, 401, 'the newest access token is dead')
  t.equal((await sessionRow(app, claims(a.access_token).sid)).revoked_reason, 'refresh_token_reuse')
})

test('replaying the parent after the reuse interval is reuse and revokes the session', async (t) => {
  const clock = testClock()
  const app = await build(t, { REFRESH_REUSE_INTERVAL: '1' }, { clock })
  await signedUp(app)
  const a = await loggedIn(app)
  const b = await rotate(app, a.refresh_token)
  clock.advance(1000)
  const inside = await refresh(app, a.refresh_token)
  t.equal(inside.statusCode, 200, 'exactly at the end of the interval it is still a replay')
  t.equal(inside.json().refresh_token, b.refresh_token)
  clock.advance(1)

  const res = await refresh(app, a.refresh_token)
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'invalid_grant')
  t.equal((await refresh(app, b.refresh_token)).statusCode, 401)
  t.equal((await me(app, b.access_token)).statusCode, 401)
})

test('replaying the parent of a logged-out session inside the reuse interval is still refused', async (t) => {
  // A clock that stands still: every replay below is inside the interval.
  const app = await build(t, { REFRESH_REUSE_INTERVAL: '2' }, { clock: testClock() })
  await signedUp(app)
  const a = await loggedIn(app)
  const b = await rotate(app, a.refresh_token)
  const logout = await app.inject({ method: 'POST', url: '/auth/logout', headers: { authorization: `Bearer ${b.access_token}` } })
  t.equal(logout.statusCode, 204)

  const res = await refresh(app, a.refresh_token)
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'invalid_grant')
  t.equal((await refresh(app, b.refresh_token)).statusCode, 401)
})

test('after reuse revoked a session, replaying the newest parent inside the interval is still refused', async (t) => {
  // A clock that stands still: every replay below is inside the interval.
  const app = await build(t, { REFRESH_REUSE_INTERVAL: '2' }, { clock: testClock() })
  await signedUp(app)
  const a = await loggedIn(app)
  const b = await rotate(app, a.refresh_token)
  const c = await rotate(app, b.refresh_token)
  t.equal((await refresh(app, a.refresh_token)).statusCode, 401, 'grandparent replay revokes')

  // b is c's immediate parent and was spent well inside the interval.
  const res = await refresh(app, b.refresh_token)
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'invalid_grant')
  t.equal((await refresh(app, c.refresh_token)).statusCode, 401)
})

test('a refresh token unused for REFRESH_TOKEN_TTL seconds is refused', async (t) => {
  const clock = testClock()
  const app = await build(t, { REFRESH_TOKEN_TTL: '1' }, { clock })
  await signedUp(app)
  const a = await loggedIn(app)
  const b = await rotate(app, a.refresh_token)
  clock.advance(999)
  const c = await rotate(app, b.refresh_token)
  clock.advance(1000)
  const res = await refresh(app, c.refresh_token)
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'invalid_grant')
})

test('a session ends SESSION_MAX_AGE after login even while refreshes keep it from idling', async (t) => {
  const clock = testClock()
  const app = await build(t, { ACCESS_TOKEN_TTL: '1', REFRESH_TOKEN_TTL: '1', SESSION_MAX_AGE: '2', REFRESH_REUSE_INTERVAL: '0' }, { clock })
  await signedUp(app)
  let token = (await loggedIn(app)).refresh_token
  for (let step = 1; step <= 4; step++) {
    clock.advance(450)
    const res = await refresh(app, token)
    t.equal(res.statusCode, 200, `refreshed ${step * 450} ms after login`)
    token = res.json().refresh_token
  }
  clock.advance(199)
  const last = await refresh(app, token)
  t.equal(last.statusCode, 200, 'refreshed at 1999 ms, long past the first idle limit')
  token = last.json().refresh_token
  clock.advance(1)
  const res = await refresh(app, token)
  t.equal(res.statusCode, 401, 'refused at 2000 ms, the absolute limit')
  t.equal(res.json().code, 'invalid_grant')
})

test('a refresh for an account that was deleted is refused with invalid_grant', async (t) => {
  const app = await build(t)
  await signedUp(app)
  const first = await loggedIn(app)
  await app.store.db.deleteFrom('users').where('email', '=', EMAIL).execute()
  const res = await refresh(app, first.refresh_token)
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'invalid_grant')
})

test('a refresh racing with a global logout never leaves a working token behind', async (t) => {
  const app = await build(t)
  await signedUp(app)
  const first = await loggedIn(app)
  const second = await loggedIn(app)
  const [refreshed, logout] = await Promise.all([
    refresh(app, first.refresh_token),
    app.inject({ method: 'POST', url: '/auth/logout?scope=global', headers: { authorization: `Bearer ${second.access_token}` } })
  ])
  t.equal(logout.statusCode, 204)
  t.ok([200, 401].includes(refreshed.statusCode), `the refresh answered ${refreshed.statusCode}`)
  if (refreshed.statusCode === 200) {
    const pair = refreshed.json() as TokenReply
    t.equal((await me(app, pair.access_token)).statusCode, 401, 'its access token is refused')
    t.equal((await refresh(app, pair.refresh_token)).statusCode, 401, 'its refresh token is refused')
  }
  t.equal((await me(app, first.access_token)).statusCode, 401)
})

test('a SESSION_MAX_AGE shorter than ACCESS_TOKEN_TTL starts, and login caps exp at the session\'s end', async (t) => {
  const app = await build(t, { ACCESS_TOKEN_TTL: '900', SESSION_MAX_AGE: '60' })
  await signedUp(app)
  const pair = await loggedIn(app)
  const { iat, exp } = claims(pair.access_token)
  t.ok(exp <= iat + 60 && exp >= iat + 59, `exp ${exp - iat} s after iat, within the 60 s session`)
  t.equal(pair.expires_in, exp - iat)
  t.equal(pair.expires_at, exp)
})

test('no access token outlives its session: exp is capped at SESSION_MAX_AGE after login', async (t) => {
  const clock = testClock()
  const app = await build(t, { ACCESS_TOKEN_TTL: '10', SESSION_MAX_AGE: '12' }, { clock })
  await signedUp(app)
  const pair = await loggedIn(app)
  const loginIat = claims(pair.access_token).iat
  clock.advance(3000)
  const res = await refresh(app, pair.refresh_token)
  t.equal(res.statusCode, 200)
  const body = res.json()
  const { iat, exp } = claims(body.access_token)
  t.ok(exp <= loginIat + 12 + 1, `exp ${exp} is within the session (ends about ${loginIat + 12})`)
  t.ok(exp < iat + 10, 'shorter than ACCESS_TOKEN_TTL')
  t.equal(body.expires_in, exp - iat, 'expires_in matches the token')
  t.equal(body.expires_at, exp)
})
