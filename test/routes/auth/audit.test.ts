import { request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { test, type Test } from 'tap'
import { EMAIL, loggedIn, PASSWORD, signedUp } from '../../helpers/auth.js'
import { build } from '../../helpers/build.js'

const NEW_PASSWORD = 'purple monkey dishwasher'
const WRONG_PASSWORD = 'wrong horse battery staple'
const CLIENT = { remoteAddress: '203.0.113.7', headers: { 'user-agent': 'audit-test/1.0' } }

interface AuditLine { type: string, userId: string | null, sessionId: string | null, ip: string | null, userAgent: string | null, detail: string | null }

/** An app whose log lines are collected, with one signed-up user. */
async function setup (t: Test, env: Record<string, string> = {}) {
  const lines: string[] = []
  const stream = new Writable({
    write (chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean))
      done()
    }
  })
  const app = await build(t, env, { logger: { level: 'info', stream } })
  const { id: userId } = await signedUp(app)
  return { app, lines, userId }
}

function send (app: FastifyInstance, options: InjectOptions) {
  return app.inject({ ...CLIENT, ...options, headers: { ...CLIENT.headers, ...options.headers } })
}

/** Logs Ada in from CLIENT. */
const login = (app: FastifyInstance) => loggedIn(app, EMAIL, PASSWORD, CLIENT)

async function rows (app: FastifyInstance, type: string) {
  return app.store.db.selectFrom('audit_events').selectAll().where('type', '=', type).execute()
}

function auditLines (lines: string[], type: string): AuditLine[] {
  return lines.map(line => JSON.parse(line) as { audit?: AuditLine }).flatMap(entry => entry.audit?.type === type ? [entry.audit] : [])
}

/** Exactly one stored row and one log line of `type`, both equal to `expected`. */
async function assertOneEvent (t: Test, app: FastifyInstance, lines: string[], expected: AuditLine) {
  const stored = await rows(app, expected.type)
  t.equal(stored.length, 1, `one ${expected.type} row`)
  const row = stored[0]
  t.same(row && { type: row.type, userId: row.user_id, sessionId: row.session_id, ip: row.ip, userAgent: row.user_agent, detail: row.detail }, expected, 'the stored row')
  t.ok(row && Math.abs(Number(row.at) - Date.now()) < 10_000, 'stamped with the time')
  const logged = auditLines(lines, expected.type)
  t.equal(logged.length, 1, `one ${expected.type} log line`)
  t.same(logged[0], expected, 'the log line')
}

/** No log line carries a password or a token. */
function assertNoSecrets (t: Test, lines: string[], secrets: string[]) {
  t.ok(lines.length > 0, 'something was logged')
  const log = lines.join('\n')
  for (const secret of secrets) t.notOk(log.includes(secret), `no secret in the log (${secret.slice(0, 6)}…)`)
}

test('a signup is audited once, in the store and the log', async (t) => {
  const { app, lines, userId } = await setup(t)
  await assertOneEvent(t, app, lines, { type: 'signup', userId, sessionId: null, ip: '127.0.0.1', userAgent: 'lightMyRequest', detail: null })
  assertNoSecrets(t, lines, [PASSWORD])
})

test('a successful login is audited once, in the store and the log', async (t) => {
  const { app, lines, userId } = await setup(t)
  const pair = await login(app)
  await assertOneEvent(t, app, lines, { type: 'login', userId, sessionId: pair.sid, ip: '203.0.113.7', userAgent: 'audit-test/1.0', detail: null })
  assertNoSecrets(t, lines, [PASSWORD, pair.access_token, pair.refresh_token])
})

test('a failed login is audited with the reason, for a known and an unknown email', async (t) => {
  const { app, lines, userId } = await setup(t)
  const res = await send(app, { method: 'POST', url: '/auth/login', payload: { email: EMAIL, password: WRONG_PASSWORD } })
  t.equal(res.statusCode, 401)
  await assertOneEvent(t, app, lines, { type: 'login_failed', userId, sessionId: null, ip: '203.0.113.7', userAgent: 'audit-test/1.0', detail: 'wrong password' })

  await send(app, { method: 'POST', url: '/auth/login', payload: { email: 'nobody@example.com', password: WRONG_PASSWORD } })
  const unknown = (await rows(app, 'login_failed')).find(r => r.user_id === null)
  t.equal(unknown?.detail, 'unknown email')
  t.equal(auditLines(lines, 'login_failed').length, 2)
  assertNoSecrets(t, lines, [WRONG_PASSWORD, PASSWORD])
})

test('a refresh is audited once, in the store and the log', async (t) => {
  const { app, lines, userId } = await setup(t)
  const pair = await login(app)
  const res = await send(app, { method: 'POST', url: '/auth/refresh', payload: { refresh_token: pair.refresh_token } })
  t.equal(res.statusCode, 200)
  await assertOneEvent(t, app, lines, { type: 'refresh', userId, sessionId: pair.sid, ip: '203.0.113.7', userAgent: 'audit-test/1.0', detail: null })
  assertNoSecrets(t, lines, [pair.refresh_token, res.json().refresh_token, res.json().access_token])
})

test('a replay within the reuse interval is audited as a refresh with its reason', async (t) => {
  const { app, lines, userId } = await setup(t, { REFRESH_REUSE_INTERVAL: '5' })
  const pair = await login(app)
  await send(app, { method: 'POST', url: '/auth/refresh', payload: { refresh_token: pair.refresh_token } })
  const replay = await send(app, { method: 'POST', url: '/auth/refresh', payload: { refresh_token: pair.refresh_token } })
  t.equal(replay.statusCode, 200)
  const refreshed = await rows(app, 'refresh')
  t.same(refreshed.map(r => [r.user_id, r.session_id, r.detail]), [[userId, pair.sid, null], [userId, pair.sid, 'parent replayed within the reuse interval']])
  t.same(auditLines(lines, 'refresh').map(l => l.detail), [null, 'parent replayed within the reuse interval'])
  t.equal((await rows(app, 'refresh_reuse')).length, 0)
})

test('detected refresh token reuse is audited once, in the store and the log', async (t) => {
  const { app, lines, userId } = await setup(t, { REFRESH_REUSE_INTERVAL: '0' })
  const pair = await login(app)
  const next = await send(app, { method: 'POST', url: '/auth/refresh', payload: { refresh_token: pair.refresh_token } })
  const reuse = await send(app, { method: 'POST', url: '/auth/refresh', payload: { refresh_token: pair.refresh_token } })
  t.equal(reuse.statusCode, 401)
  await assertOneEvent(t, app, lines, { type: 'refresh_reuse', userId, sessionId: pair.sid, ip: '203.0.113.7', userAgent: 'audit-test/1.0', detail: 'spent refresh token presented again; session revoked' })
  assertNoSecrets(t, lines, [pair.refresh_token, next.json().refresh_token])
})

test('a refusal that is not reuse is not audited as reuse', async (t) => {
  const { app } = await setup(t)
  await send(app, { method: 'POST', url: '/auth/refresh', payload: { refresh_token: 'C'.repeat(43) } })
  t.equal((await rows(app, 'refresh_reuse')).length, 0)
})

test('a logout is audited once with its scope, in the store and the log', async (t) => {
  const { app, lines, userId } = await setup(t)
  const pair = await login(app)
  await login(app)
  const res = await send(app, { method: 'POST', url: '/auth/logout?scope=global', headers: { authorization: `Bearer ${pair.access_token}` } })
  t.equal(res.statusCode, 204)
  await assertOneEvent(t, app, lines, { type: 'logout', userId, sessionId: pair.sid, ip: '203.0.113.7', userAgent: 'audit-test/1.0', detail: 'scope=global; revoked 2' })
  assertNoSecrets(t, lines, [pair.access_token, pair.refresh_token])
})

test('a password change is audited once, and neither password reaches the log', async (t) => {
  const { app, lines, userId } = await setup(t)
  const pair = await login(app)
  await login(app)
  const res = await send(app, {
    method: 'POST',
    url: '/auth/password',
    headers: { authorization: `Bearer ${pair.access_token}` },
    payload: { current_password: PASSWORD, new_password: NEW_PASSWORD }
  })
  t.equal(res.statusCode, 204)
  await assertOneEvent(t, app, lines, { type: 'password_changed', userId, sessionId: pair.sid, ip: '203.0.113.7', userAgent: 'audit-test/1.0', detail: 'revoked 1 other sessions' })
  assertNoSecrets(t, lines, [PASSWORD, NEW_PASSWORD, pair.access_token])
})

test('deleting a session is audited once, naming the deleted session', async (t) => {
  const { app, lines, userId } = await setup(t)
  const caller = await login(app)
  const other = await login(app)
  const res = await send(app, { method: 'DELETE', url: `/auth/sessions/${other.sid}`, headers: { authorization: `Bearer ${caller.access_token}` } })
  t.equal(res.statusCode, 204)
  await assertOneEvent(t, app, lines, { type: 'session_revoked', userId, sessionId: other.sid, ip: '203.0.113.7', userAgent: 'audit-test/1.0', detail: 'deleted by its owner' })
  assertNoSecrets(t, lines, [caller.access_token, other.refresh_token])
})

test('a refused session deletion is not audited', async (t) => {
  const { app } = await setup(t)
  const caller = await login(app)
  const res = await send(app, { method: 'DELETE', url: '/auth/sessions/nope', headers: { authorization: `Bearer ${caller.access_token}` } })
  t.equal(res.statusCode, 404)
  t.equal((await rows(app, 'session_revoked')).length, 0)
})

test('an event from a client without a user agent records null; a long one is cut to 512 characters', async (t) => {
  const { app, lines } = await setup(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  // node:http sends no User-Agent unless told to.
  const status = await new Promise<number>((resolve, reject) => {
    const body = JSON.stringify({ email: EMAIL, password: PASSWORD })
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/auth/login', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.end(body)
  })
  t.equal(status, 200)
  await send(app, { method: 'POST', url: '/auth/login', payload: { email: EMAIL, password: PASSWORD }, headers: { 'user-agent': 'u'.repeat(2000) } })

  const stored = await rows(app, 'login')
  t.same(stored.map(r => [r.ip, r.user_agent]), [['127.0.0.1', null], ['203.0.113.7', 'u'.repeat(512)]])
  t.same(auditLines(lines, 'login').map(l => l.userAgent?.length ?? null), [null, 2000], 'the log line keeps what the client sent')
})
