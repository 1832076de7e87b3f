import { test } from 'tap'
import { parseCursor, RevocationList, revocationsSince } from '../../../src/domain/revocations.js'
import { openSession, revokeSession, type SessionRules } from '../../../src/domain/sessions.js'
import { openStore, type Db } from '../../../src/store/index.js'
import { build } from '../../helpers/build.js'
import { eventually } from '../../helpers/clock.js'

interface Teardown { teardown (fn: () => unknown): void }

const RULES: SessionRules = { refreshTokenTtl: 3600, sessionMaxAge: 7200, refreshReuseInterval: 0, accessTokenTtl: 30 }
const T0 = Date.now() - 24 * 3600 * 1000
// How long past its access tokens' expiry an entry is kept (the verifier's clock tolerance and then some).
const MARGIN = 60_000

async function setup (t: Teardown): Promise<Db> {
  const store = await openStore('sqlite::memory:')
  t.teardown(() => store.close())
  await store.db.insertInto('users').values({ id: 'u1', email: 'u1@example.com', password_hash: 'not-a-hash', roles: '["user"]', created_at: T0 }).execute()
  return store.db
}

async function revokedSession (db: Db, at: number, rules = RULES): Promise<string> {
  const { sessionId } = await openSession(db, rules, 'u1', { ip: null, userAgent: null }, at)
  await revokeSession(db, rules, sessionId, 'logout', at)
  return sessionId
}

test('parseCursor reads decimal sequence numbers and nothing else', async (t) => {
  t.equal(parseCursor(undefined), 0)
  t.equal(parseCursor(''), 0)
  t.equal(parseCursor('0'), 0)
  t.equal(parseCursor('42'), 42)
  t.equal(parseCursor('9'.repeat(15)), 999_999_999_999_999)
  for (const bad of ['abc', '-1', '1.5', '1e3', ' 1', '0x1', '9'.repeat(16), '1'.repeat(40)]) {
    t.equal(parseCursor(bad), null, JSON.stringify(bad))
  }
})

test('revocationsSince lists revocations after the cursor, oldest first, with exp in Unix seconds', async (t) => {
  const db = await setup(t)
  const a = await revokedSession(db, T0 + 1000)
  const b = await revokedSession(db, T0 + 2500)
  const all = await revocationsSince(db, 0, T0 + 3000)
  t.same(all.sessions, [{ sid: a, exp: Math.ceil((T0 + 31_000) / 1000) }, { sid: b, exp: Math.ceil((T0 + 32_500) / 1000) }])
  const after = await revocationsSince(db, Number((await revocationsSince(db, 0, T0)).cursor) - 1, T0 + 3000)
  t.same(after.sessions.map(s => s.sid), [b])
  t.equal(after.cursor, all.cursor)
})

test('revocationsSince leaves out revocations whose access tokens and margin have expired but moves the cursor past them', async (t) => {
  const db = await setup(t)
  const old = await revokedSession(db, T0)
  const live = await revokedSession(db, T0 + 20_000)
  // The first one's tokens expired at T0 + 30 s; it stays listed for the margin after that.
  t.same((await revocationsSince(db, 0, T0 + 30_000 + MARGIN - 1)).sessions.map(s => s.sid), [old, live])
  const page = await revocationsSince(db, 0, T0 + 30_000 + MARGIN)
  t.same(page.sessions.map(s => s.sid), [live])
  t.equal(page.cursor, '2')
  const empty = await revocationsSince(db, 2, T0 + 30_000 + MARGIN)
  t.same(empty, { sessions: [], cursor: '2' }, 'an exhausted cursor is returned unchanged')
})

test('revocationsSince pages 1000 at a time', async (t) => {
  const db = await setup(t)
  await db.insertInto('revocations').values(Array.from({ length: 1001 }, (_, i) => ({ session_id: `s${i}`, revoked_at: T0, expires_at: T0 + 60_000 }))).execute()
  const first = await revocationsSince(db, 0, T0)
  t.equal(first.sessions.length, 1000)
  const second = await revocationsSince(db, Number(first.cursor), T0)
  t.same(second.sessions.map(s => s.sid), ['s1000'])
})

test('sync picks up every revocation in the store, across pages', async (t) => {
  const db = await setup(t)
  await db.insertInto('revocations').values(Array.from({ length: 1001 }, (_, i) => ({ session_id: `s${i}`, revoked_at: T0, expires_at: T0 + 60_000 }))).execute()
  const list = new RevocationList(db)
  t.equal(list.revoked.size, 0)
  await list.sync(T0)
  t.equal(list.revoked.size, 1001)
  t.ok(list.revoked.has('s0', T0) && list.revoked.has('s1000', T0))
  t.notOk(list.revoked.has('s1001', T0))
})

test('sync only adds what was revoked since the last sync', async (t) => {
  const db = await setup(t)
  const list = new RevocationList(db)
  const a = await revokedSession(db, T0)
  await list.sync(T0)
  t.ok(list.revoked.has(a, T0))
  const b = await revokedSession(db, T0 + 1000)
  t.notOk(list.revoked.has(b, T0 + 1000), 'not before the next sync')
  await list.sync(T0 + 1000)
  t.ok(list.revoked.has(a, T0 + 1000) && list.revoked.has(b, T0 + 1000))
  t.equal(list.revoked.size, 2)
})

test('concurrent syncs share one pull', async (t) => {
  const db = await setup(t)
  await revokedSession(db, T0)
  const list = new RevocationList(db)
  const first = list.sync(T0)
  t.equal(list.sync(T0), first)
  await first
  t.equal(list.revoked.size, 1)
  const later = list.sync(T0)
  t.not(later, first, 'a later sync is a new pull')
  await later
})

test('sync prunes entries once their access tokens and the margin have expired', async (t) => {
  const db = await setup(t)
  const list = new RevocationList(db)
  const sid = await revokedSession(db, T0)
  const expiry = Math.ceil((T0 + RULES.accessTokenTtl * 1000) / 1000) * 1000 + MARGIN
  await list.sync(T0)
  t.ok(list.revoked.has(sid, T0))
  await list.sync(expiry - 1)
  t.ok(list.revoked.has(sid, expiry - 1), 'kept until the margin has passed')
  t.notOk(list.revoked.has(sid, expiry), 'not counted from its expiry on, before any sync')
  t.equal(list.revoked.size, 1)
  await list.sync(expiry)
  t.notOk(list.revoked.has(sid, expiry), 'pruned at its expiry')
  t.equal(list.revoked.size, 0)
})

test('entries added by this instance are pruned like synced ones', async (t) => {
  const db = await setup(t)
  const list = new RevocationList(db)
  list.add('local-a', T0 + 10_000)
  list.add('local-b', T0 + 100_000)
  t.equal(list.revoked.size, 2)
  await list.sync(T0 + 10_000 + MARGIN)
  t.notOk(list.revoked.has('local-a', T0 + 10_000 + MARGIN))
  t.ok(list.revoked.has('local-b', T0 + 10_000 + MARGIN))
  t.equal(list.revoked.size, 1)
})

test('sessions revoked now are held until their last access token and the margin have expired', async (t) => {
  const db = await setup(t)
  const list = new RevocationList(db, 30_000)
  list.revokedNow(['a', 'b'], T0)
  t.ok(list.revoked.has('a', T0) && list.revoked.has('b', T0))
  await list.sync(T0 + 30_000 + MARGIN - 1)
  t.ok(list.revoked.has('a', T0 + 30_000 + MARGIN - 1), 'kept while a token issued just before the revocation may still verify')
  await list.sync(T0 + 30_000 + MARGIN)
  t.equal(list.revoked.size, 0)
})

test('an entry is not counted from its expiry on, though no sync has pruned it yet', async (t) => {
  const db = await setup(t)
  const list = new RevocationList(db)
  list.add('s1', T0)
  t.ok(list.revoked.has('s1', T0 + MARGIN - 1))
  t.notOk(list.revoked.has('s1', T0 + MARGIN))
  t.equal(list.revoked.size, 1, 'still held until a sync prunes it')
})

test('a session revoked again keeps the later of its expiries', async (t) => {
  const db = await setup(t)
  const list = new RevocationList(db)
  list.add('s1', T0 + 10_000)
  list.add('s1', T0)
  t.ok(list.revoked.has('s1', T0 + 10_000 + MARGIN - 1), 'an earlier expiry does not shorten it')
  list.add('s1', T0 + 20_000)
  t.ok(list.revoked.has('s1', T0 + 20_000 + MARGIN - 1), 'a later one extends it')
})

test('a revocation written to the store by other code is refused by authenticate after a sync', async (t) => {
  const app = await build(t)
  await app.inject({ method: 'POST', url: '/auth/signup', payload: { email: 'ada@example.com', password: 'correct horse battery' } })
  const login = await app.inject({ method: 'POST', url: '/auth/login', payload: { email: 'ada@example.com', password: 'correct horse battery' } })
  const accessToken: string = login.json().access_token
  const { sid } = JSON.parse(Buffer.from(String(accessToken.split('.')[1]), 'base64url').toString('utf8'))
  const me = () => app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${accessToken}` } })
  t.equal((await me()).statusCode, 200)

  // As another instance sharing the store would: straight to the store, not through this app's routes.
  t.equal(await revokeSession(app.store.db, app.sessionRules, sid, 'logout', Date.now()), true)
  t.notOk(app.revocations.revoked.has(sid, Date.now()), 'this instance has not heard of it yet')
  await app.revocations.sync()
  t.ok(app.revocations.revoked.has(sid, Date.now()))
  const res = await me()
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'invalid_token')
  t.match(res.headers['www-authenticate'], /error="invalid_token"/)
})

test('the app syncs revocations on its own, every revocationSyncInterval', async (t) => {
  const app = await build(t, {}, { timings: { revocationSyncInterval: 10 } })
  await app.inject({ method: 'POST', url: '/auth/signup', payload: { email: 'ada@example.com', password: 'correct horse battery' } })
  const login = await app.inject({ method: 'POST', url: '/auth/login', payload: { email: 'ada@example.com', password: 'correct horse battery' } })
  const accessToken: string = login.json().access_token
  const { sid } = JSON.parse(Buffer.from(String(accessToken.split('.')[1]), 'base64url').toString('utf8'))
  await revokeSession(app.store.db, app.sessionRules, sid, 'logout', Date.now())
  await eventually(() => app.revocations.revoked.has(sid, Date.now()), 'the revocation has been synced')
  t.ok(app.revocations.revoked.has(sid, Date.now()))
  const res = await app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${accessToken}` } })
  t.equal(res.statusCode, 401)
})
