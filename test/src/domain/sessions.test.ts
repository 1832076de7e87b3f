import fc from 'fast-check'
import { test } from 'tap'
import { InvalidGrantError } from '../../../src/server/http-errors.js'
import {
  childRefreshToken, listLiveSessions, liveSessionOwner, loadRefreshKey, openSession, pruneExpired, RefreshRefused,
  revokeSession, revokeUserSessions, rotateRefreshToken, ROTATION_SETTLE_MS, type SessionRules
} from '../../../src/domain/sessions.js'
import { openStore, type Db } from '../../../src/store/index.js'
import { refreshTokenHash } from '../../../src/domain/tokens.js'

interface Teardown { teardown (fn: () => unknown): void }

const RULES: SessionRules = { refreshTokenTtl: 60, sessionMaxAge: 600, refreshReuseInterval: 0, accessTokenTtl: 30 }
const CLIENT = { ip: '192.0.2.1', userAgent: 'unit-test' }

// Virtual times well in the past: the reply hold of a rotation is already over, so tests run at full speed.
const T0 = Date.now() - 30 * 24 * 3600 * 1000

async function setup (t: Teardown) {
  const store = await openStore('sqlite::memory:')
  t.teardown(() => store.close())
  const db = store.db
  await addUser(db, 'u1')
  await addUser(db, 'u2')
  return { db, key: await loadRefreshKey(db) }
}

async function addUser (db: Db, id: string) {
  await db.insertInto('users').values({ id, email: `${id}@example.com`, password_hash: 'not-a-hash', roles: '["user"]', created_at: T0 }).execute()
}

async function refused (promise: Promise<unknown>): Promise<RefreshRefused> {
  try {
    await promise
  } catch (err) {
    if (err instanceof RefreshRefused) return err
    throw err
  }
  throw new Error('expected the refresh to be refused')
}

async function session (db: Db, id: string) {
  return db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
}

async function tokenCount (db: Db) {
  return (await db.selectFrom('refresh_tokens').select('token_hash').execute()).length
}

test('openSession stores the refresh token only as its hash, with limits from the rules', async (t) => {
  const { db } = await setup(t)
  const opened = await openSession(db, RULES, 'u1', { ip: '192.0.2.1', userAgent: 'a'.repeat(600) }, T0)
  t.match(opened.refreshToken, /^[A-Za-z0-9_-]{43}$/)
  const tokens = await db.selectFrom('refresh_tokens').selectAll().execute()
  t.same(tokens, [{ token_hash: refreshTokenHash(opened.refreshToken), session_id: opened.sessionId, parent_hash: null, created_at: T0, spent_at: null }])
  const row = await session(db, opened.sessionId)
  t.equal(Number(row.idle_expires_at), T0 + 60_000)
  t.equal(Number(row.absolute_expires_at), T0 + 600_000)
  t.equal(row.user_agent?.length, 512, 'the user agent is cut to 512 characters')
  t.equal(row.ip, '192.0.2.1')
  t.equal(row.revoked_at, null)
})

test('rotation spends the token and mints its HMAC-derived child in the same session', async (t) => {
  const { db, key } = await setup(t)
  const { sessionId, refreshToken } = await openSession(db, RULES, 'u1', CLIENT, T0)
  const at = T0 + 10_000
  const rotation = await rotateRefreshToken(db, RULES, key, refreshToken, at, at)
  t.same(rotation, { sessionId, userId: 'u1', roles: ['user'], refreshToken: childRefreshToken(key, refreshToken), endsAt: T0 + RULES.sessionMaxAge * 1000, replayed: false })
  const parent = await db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', refreshTokenHash(refreshToken)).executeTakeFirstOrThrow()
  t.equal(Number(parent.spent_at), at)
  const child = await db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', refreshTokenHash(rotation.refreshToken)).executeTakeFirstOrThrow()
  t.same(child, { token_hash: refreshTokenHash(rotation.refreshToken), session_id: sessionId, parent_hash: parent.token_hash, created_at: at, spent_at: null })
  const row = await session(db, sessionId)
  t.equal(Number(row.last_used_at), at)
  t.equal(Number(row.idle_expires_at), at + 60_000, 'the idle limit restarts at the rotation')
})

test('a rotation\'s reply is held ROTATION_SETTLE_MS after the spend; a replay within the interval is not', async (t) => {
  const { db, key } = await setup(t)
  const rules = { ...RULES, refreshReuseInterval: 5 }
  const { refreshToken } = await openSession(db, rules, 'u1', CLIENT)
  const start = Date.now()
  await rotateRefreshToken(db, rules, key, refreshToken, start, start)
  t.ok(Date.now() - start >= ROTATION_SETTLE_MS - 2, `held ${Date.now() - start} ms`)
  const replayStart = Date.now()
  const replay = await rotateRefreshToken(db, rules, key, refreshToken, replayStart)
  t.equal(replay.replayed, true)
  t.ok(Date.now() - replayStart < ROTATION_SETTLE_MS, 'a replay answers at once')
})

test('the idle limit after a rotation never passes the absolute limit', async (t) => {
  const { db, key } = await setup(t)
  const rules = { ...RULES, refreshTokenTtl: 60, sessionMaxAge: 100 }
  const { sessionId, refreshToken } = await openSession(db, rules, 'u1', CLIENT, T0)
  await rotateRefreshToken(db, rules, key, refreshToken, T0 + 50_000, T0 + 50_000)
  t.equal(Number((await session(db, sessionId)).idle_expires_at), T0 + 100_000)
})

test('an unknown refresh token is refused as unknown', async (t) => {
  const { db, key } = await setup(t)
  await openSession(db, RULES, 'u1', CLIENT, T0)
  const err = await refused(rotateRefreshToken(db, RULES, key, 'B'.repeat(43), T0, T0))
  t.equal(err.reason, 'unknown')
  t.equal(err.sessionId, undefined)
  t.ok(err instanceof InvalidGrantError)
  t.equal(err.statusCode, 401)
  t.equal(err.code.toLowerCase(), 'invalid_grant', 'the contract code')
})

test('a refresh token is refused as expired from the moment its idle limit is reached', async (t) => {
  const { db, key } = await setup(t)
  const { refreshToken } = await openSession(db, RULES, 'u1', CLIENT, T0)
  const err = await refused(rotateRefreshToken(db, RULES, key, refreshToken, T0 + 60_000, T0 + 60_000))
  t.equal(err.reason, 'expired')

  const other = await openSession(db, RULES, 'u1', CLIENT, T0)
  const ok = await rotateRefreshToken(db, RULES, key, other.refreshToken, T0 + 59_999, T0 + 59_999)
  t.equal(ok.replayed, false, 'a millisecond earlier it still rotates')
})

test('a refresh token is refused as expired past the absolute limit even while its idle limit is ahead', async (t) => {
  const { db, key } = await setup(t)
  const rules = { ...RULES, refreshTokenTtl: 1000, sessionMaxAge: 100 }
  const { refreshToken } = await openSession(db, rules, 'u1', CLIENT, T0)
  const err = await refused(rotateRefreshToken(db, rules, key, refreshToken, T0 + 100_000, T0 + 100_000))
  t.equal(err.reason, 'expired')
})

test('a spent token presented by a request that arrived before the settle time is a lost race and keeps the session', async (t) => {
  const { db, key } = await setup(t)
  const { sessionId, refreshToken } = await openSession(db, RULES, 'u1', CLIENT, T0)
  const spentAt = T0 + 1000
  const winner = await rotateRefreshToken(db, RULES, key, refreshToken, spentAt, spentAt)
  const err = await refused(rotateRefreshToken(db, RULES, key, refreshToken, spentAt + ROTATION_SETTLE_MS - 1, spentAt + ROTATION_SETTLE_MS + 50))
  t.equal(err.reason, 'lost_race')
  t.equal(err.sessionId, sessionId)
  t.equal(err.userId, 'u1')
  t.equal((await session(db, sessionId)).revoked_at, null)
  const next = await rotateRefreshToken(db, RULES, key, winner.refreshToken, spentAt + 2000, spentAt + 2000)
  t.equal(next.sessionId, sessionId, 'the winner\'s token still rotates')
})

test('a spent token presented after the settle time is reuse and revokes the session', async (t) => {
  const { db, key } = await setup(t)
  const { sessionId, refreshToken } = await openSession(db, RULES, 'u1', CLIENT, T0)
  const spentAt = T0 + 1000
  const child = await rotateRefreshToken(db, RULES, key, refreshToken, spentAt, spentAt)
  const at = spentAt + ROTATION_SETTLE_MS
  const err = await refused(rotateRefreshToken(db, RULES, key, refreshToken, at, at))
  t.equal(err.reason, 'reuse')
  t.equal(err.sessionId, sessionId)
  t.equal(err.userId, 'u1')
  const row = await session(db, sessionId)
  t.equal(Number(row.revoked_at), at)
  t.equal(row.revoked_reason, 'refresh_token_reuse')
  const revocations = await db.selectFrom('revocations').selectAll().execute()
  t.equal(revocations.length, 1)
  t.equal(revocations[0]?.session_id, sessionId)
  t.equal(Number(revocations[0]?.expires_at), at + RULES.accessTokenTtl * 1000, 'listed as long as its access tokens may live')
  t.equal((await refused(rotateRefreshToken(db, RULES, key, child.refreshToken, at + 1, at + 1))).reason, 'revoked')
})

test('within the reuse interval the immediate parent replays to the same child without minting', async (t) => {
  const { db, key } = await setup(t)
  const rules = { ...RULES, refreshReuseInterval: 2 }
  const { refreshToken } = await openSession(db, rules, 'u1', CLIENT, T0)
  const child = await rotateRefreshToken(db, rules, key, refreshToken, T0 + 1000, T0 + 1000)
  const count = await tokenCount(db)
  const replay = await rotateRefreshToken(db, rules, key, refreshToken, T0 + 3000, T0 + 3000)
  t.same(replay, { ...child, replayed: true }, 'exactly at the end of the interval')
  t.equal(await tokenCount(db), count)
})

test('a millisecond after the reuse interval the parent is reuse', async (t) => {
  const { db, key } = await setup(t)
  const rules = { ...RULES, refreshReuseInterval: 2 }
  const { sessionId, refreshToken } = await openSession(db, rules, 'u1', CLIENT, T0)
  await rotateRefreshToken(db, rules, key, refreshToken, T0 + 1000, T0 + 1000)
  t.equal((await refused(rotateRefreshToken(db, rules, key, refreshToken, T0 + 3001, T0 + 3001))).reason, 'reuse')
  t.equal((await session(db, sessionId)).revoked_reason, 'refresh_token_reuse')
})

test('within the reuse interval a grandparent is reuse', async (t) => {
  const { db, key } = await setup(t)
  const rules = { ...RULES, refreshReuseInterval: 10 }
  const { sessionId, refreshToken } = await openSession(db, rules, 'u1', CLIENT, T0)
  const b = await rotateRefreshToken(db, rules, key, refreshToken, T0 + 1000, T0 + 1000)
  await rotateRefreshToken(db, rules, key, b.refreshToken, T0 + 2000, T0 + 2000)
  t.equal((await refused(rotateRefreshToken(db, rules, key, refreshToken, T0 + 3000, T0 + 3000))).reason, 'reuse')
  t.not((await session(db, sessionId)).revoked_at, null)
})

test('within the reuse interval a revoked session refuses even the immediate parent', async (t) => {
  const { db, key } = await setup(t)
  const rules = { ...RULES, refreshReuseInterval: 10 }
  const { sessionId, refreshToken } = await openSession(db, rules, 'u1', CLIENT, T0)
  await rotateRefreshToken(db, rules, key, refreshToken, T0 + 1000, T0 + 1000)
  t.equal(await revokeSession(db, rules, sessionId, 'logout', T0 + 1500), true)
  t.equal((await refused(rotateRefreshToken(db, rules, key, refreshToken, T0 + 2000, T0 + 2000))).reason, 'revoked')
})

test('child tokens depend on both the key and the parent', async (t) => {
  const { db } = await setup(t)
  const key = await loadRefreshKey(db)
  const otherKey = Buffer.alloc(32, 1)
  t.equal(childRefreshToken(key, 'parent'), childRefreshToken(key, 'parent'))
  t.not(childRefreshToken(key, 'parent'), childRefreshToken(key, 'parent2'))
  t.not(childRefreshToken(key, 'parent'), childRefreshToken(otherKey, 'parent'))
  t.match(childRefreshToken(key, 'parent'), /^[A-Za-z0-9_-]{43}$/)
})

test('the refresh key is made once and shared through the store', async (t) => {
  const { db, key } = await setup(t)
  t.equal(key.length, 32)
  t.same(await loadRefreshKey(db), key)
  t.equal((await db.selectFrom('server_secrets').select('name').execute()).length, 1)
})

test('revokeSession revokes once and reports whether it did', async (t) => {
  const { db } = await setup(t)
  const { sessionId } = await openSession(db, RULES, 'u1', CLIENT, T0)
  t.equal(await revokeSession(db, RULES, sessionId, 'session_deleted', T0 + 5), true)
  t.equal(await revokeSession(db, RULES, sessionId, 'logout', T0 + 6), false)
  t.equal(await revokeSession(db, RULES, 'no-such-session', 'logout', T0 + 7), false)
  const row = await session(db, sessionId)
  t.equal(row.revoked_reason, 'session_deleted', 'the first reason stays')
  t.equal((await db.selectFrom('revocations').selectAll().execute()).length, 1)
})

test('revokeUserSessions revokes all of a user\'s live sessions, or all but one', async (t) => {
  const { db } = await setup(t)
  const [a, b, c] = [await openSession(db, RULES, 'u1', CLIENT, T0), await openSession(db, RULES, 'u1', CLIENT, T0), await openSession(db, RULES, 'u1', CLIENT, T0)]
  const other = await openSession(db, RULES, 'u2', CLIENT, T0)
  await revokeSession(db, RULES, c.sessionId, 'logout', T0)
  t.same(await revokeUserSessions(db, RULES, 'u1', 'logout_others', a.sessionId, T0 + 1), [b.sessionId], 'already revoked ones are not counted')
  t.equal((await session(db, a.sessionId)).revoked_at, null)
  t.same(await revokeUserSessions(db, RULES, 'u1', 'logout_global', undefined, T0 + 2), [a.sessionId])
  t.equal((await session(db, other.sessionId)).revoked_at, null, 'another user is untouched')
})

test('listLiveSessions and liveSessionOwner see only unrevoked sessions within both limits', async (t) => {
  const { db } = await setup(t)
  const rules = { ...RULES, refreshTokenTtl: 1000 }
  const old = await openSession(db, { ...rules, sessionMaxAge: 100 }, 'u1', CLIENT, T0)
  const live = await openSession(db, rules, 'u1', CLIENT, T0 + 1000)
  const newest = await openSession(db, rules, 'u1', CLIENT, T0 + 2000)
  const revoked = await openSession(db, rules, 'u1', CLIENT, T0 + 3000)
  const idle = await openSession(db, { ...rules, refreshTokenTtl: 1 }, 'u1', CLIENT, T0 + 3000)
  await openSession(db, rules, 'u2', CLIENT, T0)
  await revokeSession(db, RULES, revoked.sessionId, 'logout', T0 + 3000)

  const now = T0 + 100_000
  const listed = await listLiveSessions(db, 'u1', now)
  t.same(listed.map(s => s.id), [newest.sessionId, live.sessionId], 'newest first')
  t.same(listed[0], { id: newest.sessionId, createdAt: T0 + 2000, lastUsedAt: T0 + 2000, userAgent: 'unit-test', ip: '192.0.2.1' })
  t.equal(await liveSessionOwner(db, live.sessionId, now), 'u1')
  for (const dead of [old, revoked, idle]) t.equal(await liveSessionOwner(db, dead.sessionId, now), undefined)
  t.equal(await liveSessionOwner(db, 'no-such-session', now), undefined)
})

// A model of API.md's rotation rules, against which random histories are replayed.
interface ModelToken { value: string, session: number, spentAt: number | null, child: string | null }
interface ModelSession { id: string, revoked: boolean, idle: number, absolute: number }
type Command =
  | { kind: 'login' }
  | { kind: 'advance', ms: number }
  | { kind: 'present', token: number, lag: number }
  | { kind: 'revoke', session: number }

// Steps that land exactly on the settle time and the reuse intervals are drawn often: the rules' edges are there.
const advance = fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.constantFrom(1, ROTATION_SETTLE_MS, 1000, 2000))
const lag = fc.oneof(fc.integer({ min: 0, max: 400 }), fc.constant(0))
const present = fc.record({ kind: fc.constant('present' as const), token: fc.nat(), lag })

const command: fc.Arbitrary<Command> = fc.oneof(
  fc.constant<Command>({ kind: 'login' }),
  fc.record({ kind: fc.constant('advance' as const), ms: advance }),
  present,
  present,
  fc.record({ kind: fc.constant('revoke' as const), session: fc.nat() })
)

test('random histories of logins, refreshes, replays, revocations and time agree with a model of the rules', async (t) => {
  await t.resolves(fc.assert(fc.asyncProperty(fc.constantFrom(0, 1, 2), fc.array(command, { minLength: 5, maxLength: 40, size: 'max' }), async (interval, commands) => {
    const rules: SessionRules = { refreshTokenTtl: 5, sessionMaxAge: 12, refreshReuseInterval: interval, accessTokenTtl: 30 }
    const store = await openStore('sqlite::memory:')
    try {
      const db = store.db
      await addUser(db, 'u1')
      const key = await loadRefreshKey(db)
      const sessions: ModelSession[] = []
      const tokens: ModelToken[] = []
      let now = T0

      for (const step of [{ kind: 'login' } as const, ...commands]) {
        if (step.kind === 'login') {
          const opened = await openSession(db, rules, 'u1', CLIENT, now)
          sessions.push({ id: opened.sessionId, revoked: false, idle: now + 5000, absolute: now + 12_000 })
          tokens.push({ value: opened.refreshToken, session: sessions.length - 1, spentAt: null, child: null })
        } else if (step.kind === 'advance') {
          now += step.ms
        } else if (step.kind === 'revoke' && sessions.length > 0) {
          const s = sessions[step.session % sessions.length] as ModelSession
          const did = await revokeSession(db, rules, s.id, 'logout', now)
          if (did !== !s.revoked) throw new Error('revokeSession disagrees with the model')
          s.revoked = true
        } else if (step.kind === 'present' && tokens.length > 0) {
          const token = tokens[step.token % tokens.length] as ModelToken
          const s = sessions[token.session] as ModelSession
          const presentedAt = now - step.lag
          let expected: { ok: true, value: string, replayed: boolean } | { ok: false, reason: RefreshRefused['reason'] }
          if (s.revoked) {
            expected = { ok: false, reason: 'revoked' }
          } else if (now >= s.idle || now >= s.absolute) {
            expected = { ok: false, reason: 'expired' }
          } else if (token.spentAt === null) {
            const child = childRefreshToken(key, token.value)
            token.spentAt = now
            token.child = child
            s.idle = Math.min(now + 5000, s.absolute)
            tokens.push({ value: child, session: token.session, spentAt: null, child: null })
            expected = { ok: true, value: child, replayed: false }
          } else {
            const child = tokens.find(x => x.value === token.child)
            if (interval > 0 && now - token.spentAt <= interval * 1000 && child?.spentAt === null) {
              expected = { ok: true, value: child.value, replayed: true }
            } else if (presentedAt < token.spentAt + ROTATION_SETTLE_MS) {
              expected = { ok: false, reason: 'lost_race' }
            } else {
              s.revoked = true
              expected = { ok: false, reason: 'reuse' }
            }
          }

          let actual: typeof expected
          try {
            const rotation = await rotateRefreshToken(db, rules, key, token.value, presentedAt, now)
            if (rotation.sessionId !== s.id) throw new Error('rotated into another session')
            actual = { ok: true, value: rotation.refreshToken, replayed: rotation.replayed }
          } catch (err) {
            if (!(err instanceof RefreshRefused)) throw err
            actual = { ok: false, reason: err.reason }
          }
          if (JSON.stringify(actual) !== JSON.stringify(expected)) {
            throw new Error(`expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`)
          }
        }

        // Every session is revoked exactly when the model says, and has at most one unspent token.
        for (const s of sessions) {
          const row = await session(db, s.id)
          if ((row.revoked_at !== null) !== s.revoked) throw new Error(`session ${s.id} revoked state disagrees`)
          const unspent = await db.selectFrom('refresh_tokens').select('token_hash').where('session_id', '=', s.id).where('spent_at', 'is', null).execute()
          if (unspent.length !== 1) throw new Error(`session ${s.id} has ${unspent.length} unspent tokens`)
        }
      }
    } finally {
      await store.close()
    }
  }), { numRuns: 200 }))
})

test('pruning deletes dead sessions with their tokens and old revocations, and keeps everything that can still matter', async (t) => {
  const { db } = await setup(t)
  const tokenLife = RULES.accessTokenTtl * 1000 + 60_000
  const live = await openSession(db, RULES, 'u1', CLIENT, T0)
  await openSession(db, RULES, 'u1', CLIENT, T0 - RULES.refreshTokenTtl * 1000 - tokenLife) // idled out long ago
  const revokedLongAgo = await openSession(db, RULES, 'u2', CLIENT, T0 - 1000)
  await revokeSession(db, RULES, revokedLongAgo.sessionId, 'logout', T0 - tokenLife)
  const revokedRecently = await openSession(db, RULES, 'u2', CLIENT, T0 - 1000)
  await revokeSession(db, RULES, revokedRecently.sessionId, 'logout', T0 - 1000)

  const pruned = await pruneExpired(db, RULES, T0)
  t.same(pruned, { sessions: 2, revocations: 1 })
  const sessions = (await db.selectFrom('sessions').select('id').execute()).map(r => r.id).sort()
  t.same(sessions, [live.sessionId, revokedRecently.sessionId].sort(), 'the live and the recently revoked sessions stay')
  const tokens = await db.selectFrom('refresh_tokens').select('session_id').execute()
  t.same(new Set(tokens.map(r => r.session_id)), new Set([live.sessionId, revokedRecently.sessionId]), 'the dead sessions\' refresh tokens went with them')
  const revocations = (await db.selectFrom('revocations').select('session_id').execute()).map(r => r.session_id)
  t.same(revocations, [revokedRecently.sessionId], 'the feed keeps the revocation whose tokens may still be in use')
  t.same(await pruneExpired(db, RULES, T0), { sessions: 0, revocations: 0 }, 'pruning again finds nothing')
})
