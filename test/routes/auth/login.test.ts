import { join } from 'node:path'
import argon2 from 'argon2'
import type { FastifyInstance } from 'fastify'
import { test } from 'tap'
import { EMAIL, login, PASSWORD, signedUp } from '../../helpers/auth.js'
import { build } from '../../helpers/build.js'
import { testClock } from '../../helpers/clock.js'

async function passwordHash (app: FastifyInstance, email = EMAIL): Promise<string> {
  const row = await app.store.db.selectFrom('users').select('password_hash').where('email', '=', email).executeTakeFirstOrThrow()
  return row.password_hash
}

/** The m, t and p of a PHC-format argon2 hash. */
function argon2Params (hash: string) {
  const [, type, , params] = hash.split('$')
  const fields = Object.fromEntries(String(params).split(',').map(kv => kv.split('=')))
  return { type, m: Number(fields.m), t: Number(fields.t), p: Number(fields.p) }
}

test('login answers 200 with the token reply of API.md', async (t) => {
  const app = await build(t)
  const user = await signedUp(app)
  const before = Math.floor(Date.now() / 1000)
  const res = await login(app, EMAIL, PASSWORD)
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  const body = res.json()
  t.same(Object.keys(body).sort(), ['access_token', 'expires_at', 'expires_in', 'refresh_token', 'token_type', 'user'])
  t.match(body.access_token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/)
  t.equal(body.token_type, 'Bearer')
  t.equal(body.expires_in, 900)
  t.ok(Number.isInteger(body.expires_at))
  t.ok(body.expires_at >= before + 900 && body.expires_at <= Math.floor(Date.now() / 1000) + 900, 'expires_at is now + expires_in, in Unix seconds')
  t.same(body.user, user, 'the user is the one that signed up')
  const claims = JSON.parse(Buffer.from(String(body.access_token.split('.')[1]), 'base64url').toString())
  t.equal(claims.sub, user.id, 'the access token is for that user')
  t.same(claims.roles, ['user'])
  t.equal(claims.exp, body.expires_at, 'expires_at is the token\'s exp')
})

test('login replies carry Cache-Control: no-store', async (t) => {
  const app = await build(t)
  await signedUp(app)
  const res = await login(app, EMAIL, PASSWORD)
  t.equal(res.headers['cache-control'], 'no-store')
})

test('the refresh token is opaque base64url of at least 256 bits and new on every login', async (t) => {
  const app = await build(t)
  await signedUp(app)
  const first = (await login(app, EMAIL, PASSWORD)).json().refresh_token
  const second = (await login(app, EMAIL, PASSWORD)).json().refresh_token
  for (const token of [first, second]) {
    t.match(token, /^[A-Za-z0-9_-]{43,}$/)
    t.ok(Buffer.from(token, 'base64url').length >= 32, '32 bytes or more')
    t.notMatch(token, /\./, 'not a JWT')
  }
  t.not(first, second)
})

test('the refresh token is stored only as a hash', async (t) => {
  const app = await build(t)
  await signedUp(app)
  const token = (await login(app, EMAIL, PASSWORD)).json().refresh_token
  const rows = await app.store.db.selectFrom('refresh_tokens').selectAll().execute()
  t.equal(rows.length, 1)
  t.notOk(JSON.stringify(rows).includes(token))
})

test('login reply contains no password hash', async (t) => {
  const app = await build(t)
  await signedUp(app)
  const res = await login(app, EMAIL, PASSWORD)
  t.notMatch(res.body, /argon2/)
  t.notOk(res.body.includes(await passwordHash(app)))
  t.notMatch(res.body, /password/i)
  t.notOk(res.body.includes(PASSWORD))
})

test('the access token from login authenticates /auth/me', async (t) => {
  const app = await build(t)
  const user = await signedUp(app)
  const { access_token: token } = (await login(app, EMAIL, PASSWORD)).json()
  const me = await app.inject({ url: '/auth/me', headers: { authorization: `Bearer ${token}` } })
  t.equal(me.statusCode, 200)
  t.same(me.json(), { user })
})

test('login takes the email trimmed and in any case', async (t) => {
  const app = await build(t)
  await signedUp(app)
  for (const email of ['ADA@EXAMPLE.COM', '  ada@example.com  ', 'Ada@Example.Com']) {
    t.equal((await login(app, email, PASSWORD)).statusCode, 200, JSON.stringify(email))
  }
})

test('login works with the password sent in NFD after signing up with NFC', async (t) => {
  const app = await build(t)
  const nfc = 'caf\u00e9 cr\u00e8me br\u00fbl\u00e9e'
  const nfd = nfc.normalize('NFD')
  t.not(nfc, nfd)
  await signedUp(app, EMAIL, nfc)
  t.equal((await login(app, EMAIL, nfd)).statusCode, 200)
  t.equal((await login(app, EMAIL, nfc)).statusCode, 200)
})

test('login works with the password sent in NFC after signing up with NFD', async (t) => {
  const app = await build(t)
  const nfd = 'e\u0301'.repeat(8)
  await signedUp(app, EMAIL, nfd)
  t.equal((await login(app, EMAIL, '\u00e9'.repeat(8))).statusCode, 200)
})

test('passwords are otherwise compared exactly', async (t) => {
  const app = await build(t)
  await signedUp(app)
  for (const wrong of ['Correct horse battery', 'correct horse battery ', ' correct horse battery', 'correct  horse battery']) {
    const res = await login(app, EMAIL, wrong)
    t.equal(res.statusCode, 401, JSON.stringify(wrong))
    t.equal(res.json().code, 'invalid_credentials')
  }
})

test('a wrong password is 401 invalid_credentials', async (t) => {
  const app = await build(t)
  await signedUp(app)
  const res = await login(app, EMAIL, 'wrong password here')
  t.equal(res.statusCode, 401)
  t.same(res.json(), { statusCode: 401, error: 'Unauthorized', code: 'invalid_credentials', message: 'The email or password is incorrect' })
  t.notOk(res.headers['www-authenticate'], 'not a bearer-token challenge')
})

test('an unknown email and a wrong password get identical replies', async (t) => {
  const app = await build(t)
  await signedUp(app)
  const unknown = await login(app, 'nobody@example.com', PASSWORD)
  const wrong = await login(app, EMAIL, 'wrong password here')
  t.equal(unknown.statusCode, 401)
  t.equal(wrong.statusCode, 401)
  t.equal(unknown.body, wrong.body)
  t.equal(unknown.json().code, 'invalid_credentials')
  // Only the clock and the request counter may differ.
  const varying = new Set(['date', 'x-ratelimit-remaining', 'x-ratelimit-reset'])
  const headers = (h: Record<string, unknown>) => Object.fromEntries(Object.entries(h).filter(([k]) => !varying.has(k)))
  t.same(headers(unknown.headers), headers(wrong.headers))
  t.same(Object.keys(unknown.headers).sort(), Object.keys(wrong.headers).sort())
})

test('an unknown email costs an argon2 verification like a wrong password', async (t) => {
  // Timing itself is measured in bench/, never asserted here; this proves the work is done.
  const app = await build(t)
  await signedUp(app)
  const calls: string[] = []
  const { verify, verifyDummy } = app.passwords
  app.passwords.verify = async (hash, password) => { calls.push('verify'); return verify(hash, password) }
  app.passwords.verifyDummy = async (password) => { calls.push('dummy'); return verifyDummy(password) }

  await login(app, 'nobody@example.com', PASSWORD)
  t.same(calls, ['dummy'], 'unknown email: one dummy verification')
  calls.length = 0
  await login(app, EMAIL, 'wrong password here')
  t.same(calls, ['verify'], 'wrong password: one real verification')
})

test('a malformed email at login is 401 invalid_credentials, not 400', async (t) => {
  const app = await build(t)
  await signedUp(app)
  for (const email of ['not-an-email', '', 'ada@example.com\ud800']) {
    const res = await login(app, email, PASSWORD)
    t.equal(res.statusCode, 401, JSON.stringify(email))
    t.equal(res.json().code, 'invalid_credentials')
  }
})

test('an out-of-range password at login is 401 invalid_credentials', async (t) => {
  const app = await build(t)
  await signedUp(app, EMAIL, 'a'.repeat(256))
  for (const password of ['a'.repeat(7), 'a'.repeat(257), 'a'.repeat(10_000), '', 'abcdefgh\ud800']) {
    const res = await login(app, EMAIL, password)
    t.equal(res.statusCode, 401, `${password.length} code units`)
    t.same(res.json(), { statusCode: 401, error: 'Unauthorized', code: 'invalid_credentials', message: 'The email or password is incorrect' })
  }
  t.equal((await login(app, EMAIL, 'a'.repeat(256))).statusCode, 200)
})

test('a login without a User-Agent still opens a session', async (t) => {
  const app = await build(t)
  await signedUp(app)
  const res = await login(app, EMAIL, PASSWORD, { headers: { 'user-agent': undefined } })
  t.equal(res.statusCode, 200)
  const sessions = await app.store.db.selectFrom('sessions').select(['user_agent', 'ip']).execute()
  t.same(sessions, [{ user_agent: null, ip: '127.0.0.1' }])
})

test('the session records the client User-Agent and address', async (t) => {
  const app = await build(t)
  await signedUp(app)
  await login(app, EMAIL, PASSWORD, { headers: { 'user-agent': 'gatehouse-test/1.0' }, remoteAddress: '10.1.2.3' })
  const sessions = await app.store.db.selectFrom('sessions').select(['user_agent', 'ip']).execute()
  t.same(sessions, [{ user_agent: 'gatehouse-test/1.0', ip: '10.1.2.3' }])
})

test('a failed login opens no session', async (t) => {
  const app = await build(t)
  await signedUp(app)
  await login(app, EMAIL, 'wrong password here')
  await login(app, 'nobody@example.com', PASSWORD)
  t.same(await app.store.db.selectFrom('sessions').selectAll().execute(), [])
})

// Rehashing: a correct password stored under weaker parameters is upgraded on login.

test('login rewrites a hash made with cheaper argon2 parameters to the configured ones', async (t) => {
  const dir = t.testdir()
  const env = { DATABASE_URL: `sqlite:${join(dir, 'x.db')}` }
  const cheap = await build(t, { ...env, ARGON2_MEMORY_COST: '8192', ARGON2_TIME_COST: '1' })
  await signedUp(cheap)
  const before = await passwordHash(cheap)
  t.same(argon2Params(before), { type: 'argon2id', m: 8192, t: 1, p: 1 })

  const costly = await build(t, { ...env, ARGON2_MEMORY_COST: '16384', ARGON2_TIME_COST: '2' })
  t.equal(await passwordHash(costly), before, 'nothing changes until a login')
  t.equal((await login(costly, EMAIL, 'wrong password here')).statusCode, 401)
  t.equal(await passwordHash(costly), before, 'a failed login does not rehash')

  t.equal((await login(costly, EMAIL, PASSWORD)).statusCode, 200)
  const after = await passwordHash(costly)
  t.not(after, before)
  t.same(argon2Params(after), { type: 'argon2id', m: 16384, t: 2, p: 1 })
  t.ok(await argon2.verify(after, PASSWORD), 'the new hash still matches the password')
  t.equal((await login(costly, EMAIL, PASSWORD)).statusCode, 200, 'and the user still logs in')
  t.equal(await passwordHash(costly), after, 'an up-to-date hash is not rewritten again')
})

test('login does not rehash a hash made with the configured parameters', async (t) => {
  const app = await build(t)
  await signedUp(app)
  const before = await passwordHash(app)
  t.equal((await login(app, EMAIL, PASSWORD)).statusCode, 200)
  t.equal(await passwordHash(app), before)
})

test('an argon2i hash is upgraded to argon2id on a successful login only', async (t) => {
  const app = await build(t)
  const user = await signedUp(app)
  const legacy = await argon2.hash(PASSWORD, { type: argon2.argon2i, memoryCost: 8192, timeCost: 1, parallelism: 1 })
  t.match(legacy, /^\$argon2i\$/)
  await app.store.db.updateTable('users').set({ password_hash: legacy }).where('id', '=', user.id).execute()

  t.equal((await login(app, EMAIL, 'wrong password here')).statusCode, 401)
  t.equal(await passwordHash(app), legacy, 'a failed login leaves the hash alone')

  t.equal((await login(app, EMAIL, PASSWORD)).statusCode, 200)
  const upgraded = await passwordHash(app)
  t.same(argon2Params(upgraded), { type: 'argon2id', m: 8192, t: 1, p: 1 })
  t.ok(await argon2.verify(upgraded, PASSWORD))
  t.equal((await login(app, EMAIL, PASSWORD)).statusCode, 200)
})

test('a stored hash that is not argon2 refuses every password without a 500', async (t) => {
  const app = await build(t)
  const user = await signedUp(app)
  await app.store.db.updateTable('users').set({ password_hash: 'not-a-hash' }).where('id', '=', user.id).execute()
  const res = await login(app, EMAIL, PASSWORD)
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'invalid_credentials')
  t.equal(await passwordHash(app), 'not-a-hash')
})

// Failed-login throttle per (email, client address).

test('after LOGIN_MAX_ATTEMPTS failures even the right password gets 429 rate_limited with Retry-After', async (t) => {
  const app = await build(t, { LOGIN_MAX_ATTEMPTS: '3' })
  await signedUp(app)
  for (let i = 0; i < 3; i++) t.equal((await login(app, EMAIL, 'wrong password here')).statusCode, 401)
  for (const password of [PASSWORD, 'wrong password here']) {
    const res = await login(app, EMAIL, password)
    t.equal(res.statusCode, 429)
    const retryAfter = Number(res.headers['retry-after'])
    t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 900, `Retry-After ${res.headers['retry-after']}`)
    t.same(res.json(), { statusCode: 429, error: 'Too Many Requests', code: 'rate_limited', message: `Too many requests; retry after ${retryAfter} seconds` }, 'the message names the same wait as Retry-After')
    t.notOk(res.json().access_token)
  }
  t.same(await app.store.db.selectFrom('sessions').selectAll().execute(), [], 'no session was opened')
})

test('the throttle counts the email however it is cased or padded', async (t) => {
  const app = await build(t, { LOGIN_MAX_ATTEMPTS: '3' })
  await signedUp(app)
  for (const email of ['ADA@example.com', ' ada@example.com', 'Ada@Example.Com ']) {
    t.equal((await login(app, email, 'wrong password here')).statusCode, 401)
  }
  t.equal((await login(app, EMAIL, PASSWORD)).statusCode, 429)
})

test('failures for unknown emails are throttled like any other', async (t) => {
  const app = await build(t, { LOGIN_MAX_ATTEMPTS: '3' })
  for (let i = 0; i < 3; i++) t.equal((await login(app, 'nobody@example.com', PASSWORD)).statusCode, 401)
  t.equal((await login(app, 'nobody@example.com', PASSWORD)).statusCode, 429)
})

test('a throttled pair leaves another email from the same address unaffected', async (t) => {
  const app = await build(t, { LOGIN_MAX_ATTEMPTS: '3' })
  await signedUp(app)
  await signedUp(app, 'bob@example.com')
  for (let i = 0; i < 3; i++) await login(app, EMAIL, 'wrong password here')
  t.equal((await login(app, EMAIL, PASSWORD)).statusCode, 429)
  t.equal((await login(app, 'bob@example.com', PASSWORD)).statusCode, 200)
})

test('with TRUST_PROXY a throttled pair leaves the same email from another client address unaffected', async (t) => {
  const app = await build(t, { LOGIN_MAX_ATTEMPTS: '3', TRUST_PROXY: '127.0.0.1' })
  await signedUp(app)
  const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } })
  for (let i = 0; i < 3; i++) await login(app, EMAIL, 'wrong password here', from('198.51.100.7'))
  t.equal((await login(app, EMAIL, PASSWORD, from('198.51.100.7'))).statusCode, 429)
  t.equal((await login(app, EMAIL, PASSWORD, from('203.0.113.9'))).statusCode, 200)
})

test('without TRUST_PROXY a forged X-Forwarded-For does not escape the throttle', async (t) => {
  const app = await build(t, { LOGIN_MAX_ATTEMPTS: '3' })
  await signedUp(app)
  for (let i = 0; i < 3; i++) {
    await login(app, EMAIL, 'wrong password here', { headers: { 'x-forwarded-for': `198.51.100.${i}` } })
  }
  const res = await login(app, EMAIL, PASSWORD, { headers: { 'x-forwarded-for': '203.0.113.9' } })
  t.equal(res.statusCode, 429)
})

test('another socket address is a different pair', async (t) => {
  const app = await build(t, { LOGIN_MAX_ATTEMPTS: '3' })
  await signedUp(app)
  for (let i = 0; i < 3; i++) await login(app, EMAIL, 'wrong password here', { remoteAddress: '10.0.0.1' })
  t.equal((await login(app, EMAIL, PASSWORD, { remoteAddress: '10.0.0.1' })).statusCode, 429)
  t.equal((await login(app, EMAIL, PASSWORD, { remoteAddress: '10.0.0.2' })).statusCode, 200)
})

test('a throttled pair may log in again once LOGIN_WINDOW has passed', async (t) => {
  const clock = testClock()
  const app = await build(t, { LOGIN_MAX_ATTEMPTS: '3', LOGIN_WINDOW: '1' }, { clock })
  await signedUp(app)
  for (let i = 0; i < 3; i++) await login(app, EMAIL, 'wrong password here')
  const throttled = await login(app, EMAIL, PASSWORD)
  t.equal(throttled.statusCode, 429)
  t.equal(throttled.headers['retry-after'], '1')
  clock.advance(999)
  t.equal((await login(app, EMAIL, PASSWORD)).statusCode, 429, 'still throttled just before the window ends')
  clock.advance(1)
  t.equal((await login(app, EMAIL, PASSWORD)).statusCode, 200, 'free again once it has')
})

test('a successful login before the limit resets the failure count', async (t) => {
  const app = await build(t, { LOGIN_MAX_ATTEMPTS: '3' })
  await signedUp(app)
  const wrong = async () => t.equal((await login(app, EMAIL, 'wrong password here')).statusCode, 401)
  await wrong()
  await wrong()
  t.equal((await login(app, EMAIL, PASSWORD)).statusCode, 200)
  // Without the reset this third failure would reach the limit.
  await wrong()
  await wrong()
  t.equal((await login(app, EMAIL, PASSWORD)).statusCode, 200)
})

// Overload: argon2 work beyond the queue bound is refused, not queued.

test('a flood of logins beyond the argon2 queue gets 503 overloaded with Retry-After, never 500', async (t) => {
  const app = await build(t, { ARGON2_MEMORY_COST: '16384' })
  await signedUp(app)
  // Distinct emails: the per-pair throttle does not step in, only the argon2 queue does.
  const replies = await Promise.all(Array.from({ length: 120 }, (_, i) => login(app, `nobody${i}@example.com`, PASSWORD)))
  const statuses = new Set(replies.map(r => r.statusCode))
  t.same([...statuses].sort(), [401, 503], 'some are checked, the rest are refused')
  const refused = replies.find(r => r.statusCode === 503)
  t.same(refused?.json(), { statusCode: 503, error: 'Service Unavailable', code: 'overloaded', message: 'The server is busy checking passwords; retry shortly' })
  t.equal(refused?.headers['retry-after'], '1')
  t.equal((await login(app, EMAIL, PASSWORD)).statusCode, 200, 'the server answers again once the flood is over')
})

test('concurrent logins for one email and address cannot exceed LOGIN_MAX_ATTEMPTS', async (t) => {
  const app = await build(t, { LOGIN_MAX_ATTEMPTS: '3' })
  await signedUp(app)
  // Guesses in flight count before their verdict: thirty at once cannot all be checked.
  const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => login(app, EMAIL, `wrong guess ${i}`)))
  t.equal(replies.filter(r => r.statusCode === 401).length, 3)
  t.equal(replies.filter(r => r.statusCode === 429).length, 27)
  t.equal((await login(app, EMAIL, PASSWORD)).statusCode, 429, 'the right password is refused too, until the window ends')
})

test('refused overload logins do not count as failed attempts', async (t) => {
  const app = await build(t, { ARGON2_MEMORY_COST: '16384', LOGIN_MAX_ATTEMPTS: '3' })
  await signedUp(app)
  // Fill the argon2 queue with other emails, then three logins of ours arrive to find it full.
  const flood = Array.from({ length: 40 }, (_, i) => login(app, `nobody${i}@example.com`, PASSWORD))
  const ours = Array.from({ length: 3 }, () => login(app, EMAIL, PASSWORD))
  const replies = await Promise.all([...flood, ...ours])
  t.same(replies.slice(40).map(r => r.statusCode), [503, 503, 503], 'ours were refused for overload')
  t.equal((await login(app, EMAIL, PASSWORD)).statusCode, 200, 'and were not counted against the pair')
})
