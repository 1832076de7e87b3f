import fc from 'fast-check'
import { test } from 'tap'
import {
  childRefreshToken, listLiveSessions, liveSessionOwner, loadRefreshKey, openSession, pruneExpired,
  revokeSession, revokeUserSessions, rotateRefreshToken, type RotationOutcome, type SessionRules
} from '../../../src/domain/sessions.js'
import { openStore, type Db } from '../../../src/store/index.js'
import { latestRevocation, revocationsSince } from '../../../src/domain/revocations.js'
import { refreshTokenHash } from '../../../src/domain/tokens.js'

interface Teardown { teardown (fn: () => unknown): void }

const RULES: SessionRules = { refreshTokenTtl: 60, sessionMaxAge: 600, refreshReuseInterval: 0, accessTokenTtl: 30 }
const CLIENT = { ip: '192.0.2.1', userAgent: 'unit-test' }

// Virtual time: every function under test takes `now` from its caller.
const T0 = Date.UTC(2026, 0, 1)

async function setup (t: Teardown) {
  const store = await openStore('sqlite::memory:')
  t.teardown(() => store.close())
  const db = store.db
  await addUser(db, 'u1')
  await addUser(db, 'u2')
  return { db, key: await loadRefreshKey(db, T0) }
}

async function addUser (db: Db, id: string) {
  await db.insertInto('users').values({ id, email: `${id}@example.com`, password_hash: 'not-a-hash', roles: '["user"]', created_at: T0 }).execute()
}

type Rotated = Extract<RotationOutcome, { session: unknown }>

/** The outcome of a presentation that must have rotated or replayed. */
async function rotated (outcome: Promise<RotationOutcome>): Promise<Rotated> {
  const result = await outcome
  if (!('session' in result)) throw new Error(`expected a rotation, got ${JSON.stringify(result)}`)
  return result
}

/** Why a presentation that must have been refused was refused (`reuse` included). */
async function refusal (outcome: Promise<RotationOutcome>): Promise<string> {
  const result = await outcome
  if (result.kind === 'reuse') return 'reuse'
  if (result.kind === 'refused') return result.reason
  throw new Error(`expected a refusal, got ${result.kind}`)
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
  t.equal(opened.endsAt, T0 + 600_000, 'the session\'s end is told to the caller')
  const tokens = await db.selectFrom('refresh_tokens').selectAll().execute()
  t.same(tokens, [{ token_hash: refreshTokenHash(opened.refreshToken), session_id: opened.sessionId, parent_hash: null, created_at: T0, spent_at: null }])
  const row = await session(db, opened.sessionId)
  t.equal(Number(row.idle_expires_at), T0 + 60_000)
  t.equal(Number(row.absolute_expires_at), T0 + 600_000)
  t.equal(row.user_agent?.length, 512, 'the user agent is cut to 512 characters')
  t.equal(row.ip, '192.0.2.1')
  t.equal(row.revoked_at, null)
})

test('a session shorter than the refresh token lifetime starts with its idle limit at its end', async (t) => {
  const { db } = await setup(t)
  const opened = await openSession(db, { ...RULES, refreshTokenTtl: 3_600, sessionMaxAge: 600 }, 'u1', CLIENT, T0)
  const row = await session(db, opened.sessionId)
  t.equal(Number(row.absolute_expires_at), T0 + 600_000)
  t.equal(Number(row.idle_expires_at), T0 + 600_000, 'capped at the session\'s end, not T0 + 3600 s')
})

test('rotation spends the token and mints its HMAC-derived child in the same session', async (t) => {
  const { db, key } = await setup(t)
  const { sessionId, refreshToken } = await openSession(db, RULES, 'u1', CLIENT, T0)
  const at = T0 + 10_000
  const outcome = await rotateRefreshToken(db, RULES, key, refreshToken, at)
  t.same(outcome, { kind: 'rotated', session: { sessionId, user: { id: 'u1', email: 'u1@example.com', roles: ['user'], createdAt: T0 }, refreshToken: childRefreshToken(key, refreshToken), endsAt: T0 + RULES.sessionMaxAge * 1000 }, lostRace: false })
  const rotation = (outcome as Rotated).session
  const parent = await db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', refreshTokenHash(refreshToken)).executeTakeFirstOrThrow()
  t.equal(Number(parent.spent_at), at)
  const child = await db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', refreshTokenHash(rotation.refreshToken)).executeTakeFirstOrThrow()
  t.same(child, { token_hash: refreshTokenHash(rotation.refreshToken), session_id: sessionId, parent_hash: parent.token_hash, created_at: at, spent_at: null })
  const row = await session(db, sessionId)
  t.equal(Number(row.last_used_at), at)
  t.equal(Number(row.idle_expires_at), at + 60_000, 'the idle limit restarts at the rotation')
})

test('of two presentations racing outside a write-locking transaction, one rotates and the other lost the race', async (t) => {
  const { db, key } = await setup(t)
  for (const interval of [0, 10]) {
    const rules = { ...RULES, refreshReuseInterval: interval }
    const { sessionId, refreshToken } = await openSession(db, rules, 'u1', CLIENT, T0)
    // Without a transaction both read the token unspent before either writes: the compare-and-set picks one.
    const outcomes = await Promise.all([rotateRefreshToken(db, rules, key, refreshToken, T0 + 1), rotateRefreshToken(db, rules, key, refreshToken, T0 + 1)])
    t.same(outcomes.map(o => [o.kind, 'lostRace' in o && o.lostRace]), [['rotated', false], [interval > 0 ? 'replayed' : 'reuse', true]], `interval ${interval}`)
    t.equal((await session(db, sessionId)).revoked_at === null, interval > 0, interval > 0 ? 'the session lives on' : 'strict: the session is revoked')
  }
})

test('the idle limit after a rotation never passes the absolute limit', async (t) => {
  const { db, key } = await setup(t)
  const rules = { ...RULES, refreshTokenTtl: 60, sessionMaxAge: 100 }
  const { sessionId, refreshToken } = await openSession(db, rules, 'u1', CLIENT, T0)
  await rotated(rotateRefreshToken(db, rules, key, refreshToken, T0 + 50_000))
  t.equal(Number((await session(db, sessionId)).idle_expires_at), T0 + 100_000)
})

test('an unknown refresh token is refused as unknown', async (t) => {
  const { db, key } = await setup(t)
  await openSession(db, RULES, 'u1', CLIENT, T0)
  t.same(await rotateRefreshToken(db, RULES, key, 'B'.repeat(43), T0), { kind: 'refused', reason: 'unknown' }, 'no session named')
})

test('a refresh token is refused as expired from the moment its idle limit is reached', async (t) => {
  const { db, key } = await setup(t)
  const { refreshToken } = await openSession(db, RULES, 'u1', CLIENT, T0)
  t.same(await rotateRefreshToken(db, RULES, key, refreshToken, T0 + 60_000), { kind: 'refused', reason: 'expired', sessionId: (await db.selectFrom('sessions').select('id').executeTakeFirstOrThrow()).id, userId: 'u1' })

  const other = await openSession(db, RULES, 'u1', CLIENT, T0)
  t.equal((await rotateRefreshToken(db, RULES, key, other.refreshToken, T0 + 59_999)).kind, 'rotated', 'a millisecond earlier it still rotates')
})

test('a refresh token is refused as expired past the absolute limit even while its idle limit is ahead', async (t) => {
  const { db, key } = await setup(t)
  const rules = { ...RULES, refreshTokenTtl: 1000, sessionMaxAge: 100 }
  const { refreshToken } = await openSession(db, rules, 'u1', CLIENT, T0)
  t.equal(await refusal(rotateRefreshToken(db, rules, key, refreshToken, T0 + 100_000)), 'expired')
})

test('with a reuse interval of 0 a spent token presented again, a millisecond later, is reuse and revokes the session', async (t) => {
  const { db, key } = await setup(t)
  const { sessionId, refreshToken } = await openSession(db, RULES, 'u1', CLIENT, T0)
  const spentAt = T0 + 1000
  const child = await rotated(rotateRefreshToken(db, RULES, key, refreshToken, spentAt))
  const at = spentAt + 1
  t.same(await rotateRefreshToken(db, RULES, key, refreshToken, at), { kind: 'reuse', sessionId, userId: 'u1', lostRace: false })
  const row = await session(db, sessionId)
  t.equal(Number(row.revoked_at), at)
  t.equal(row.revoked_reason, 'refresh_token_reuse')
  const revocations = await db.selectFrom('revocations').selectAll().execute()
  t.equal(revocations.length, 1)
  t.equal(revocations[0]?.session_id, sessionId)
  t.equal(Number(revocations[0]?.expires_at), at + RULES.accessTokenTtl * 1000, 'listed as long as its access tokens may live')
  t.equal(await refusal(rotateRefreshToken(db, RULES, key, child.session.refreshToken, at + 1)), 'revoked')
})

test('a spent token presented at the same millisecond as its rotation is reuse too at interval 0', async (t) => {
  const { db, key } = await setup(t)
  const { sessionId, refreshToken } = await openSession(db, RULES, 'u1', CLIENT, T0)
  await rotated(rotateRefreshToken(db, RULES, key, refreshToken, T0 + 1000))
  t.equal(await refusal(rotateRefreshToken(db, RULES, key, refreshToken, T0 + 1000)), 'reuse')
  t.not((await session(db, sessionId)).revoked_at, null)
})

test('within the reuse interval the immediate parent replays to the same child without minting', async (t) => {
  const { db, key } = await setup(t)
  const rules = { ...RULES, refreshReuseInterval: 2 }
  const { refreshToken } = await openSession(db, rules, 'u1', CLIENT, T0)
  const child = await rotated(rotateRefreshToken(db, rules, key, refreshToken, T0 + 1000))
  const count = await tokenCount(db)
  const replay = await rotateRefreshToken(db, rules, key, refreshToken, T0 + 3000)
  t.same(replay, { ...child, kind: 'replayed' }, 'exactly at the end of the interval')
  t.equal(await tokenCount(db), count)
})

test('a millisecond after the reuse interval the parent is reuse', async (t) => {
  const { db, key } = await setup(t)
  const rules = { ...RULES, refreshReuseInterval: 2 }
  const { sessionId, refreshToken } = await openSession(db, rules, 'u1', CLIENT, T0)
  await rotated(rotateRefreshToken(db, rules, key, refreshToken, T0 + 1000))
  t.equal(await refusal(rotateRefreshToken(db, rules, key, refreshToken, T0 + 3001)), 'reuse')
  t.equal((await session(db, sessionId)).revoked_reason, 'refresh_token_reuse')
})

test('within the reuse interval a grandparent is reuse', async (t) => {
  const { db, key } = await setup(t)
  const rules = { ...RULES, refreshReuseInterval: 10 }
  const { sessionId, refreshToken } = await openSession(db, rules, 'u1', CLIENT, T0)
  const b = await rotated(rotateRefreshToken(db, rules, key, refreshToken, T0 + 1000))
  await rotated(rotateRefreshToken(db, rules, key, b.session.refreshToken, T0 + 2000))
  t.equal(await refusal(rotateRefreshToken(db, rules, key, refreshToken, T0 + 3000)), 'reuse')
  t.not((await session(db, sessionId)).revoked_at, null)
})

test('within the reuse interval a revoked session refuses even the immediate parent', async (t) => {
  const { db, key } = await setup(t)
  const rules = { ...RULES, refreshReuseInterval: 10 }
  const { sessionId, refreshToken } = await openSession(db, rules, 'u1', CLIENT, T0)
  await rotated(rotateRefreshToken(db, rules, key, refreshToken, T0 + 1000))
  t.equal(await revokeSession(db, rules, sessionId, 'logout', T0 + 1500), true)
  t.equal(await refusal(rotateRefreshToken(db, rules, key, refreshToken, T0 + 2000)), 'revoked')
})

test('child tokens depend on both the key and the parent', async (t) => {
  const { db } = await setup(t)
  const key = await loadRefreshKey(db, T0)
  const otherKey = Buffer.alloc(32, 1)
  t.equal(childRefreshToken(key, 'parent'), childRefreshToken(key, 'parent'))
  t.not(childRefreshToken(key, 'parent'), childRefreshToken(key, 'parent2'))
  t.not(childRefreshToken(key, 'parent'), childRefreshToken(otherKey, 'parent'))
  t.match(childRefreshToken(key, 'parent'), /^[A-Za-z0-9_-]{43}$/)
})

test('the refresh key is made once and shared through the store', async (t) => {
  const { db, key } = await setup(t)
  t.equal(key.length, 32)
  t.same(await loadRefreshKey(db, T0 + 1), key)
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
  t.same(await revokeUserSessions(db, RULES, 'u1', 'logout_others', T0 + 1, a.sessionId), [b.sessionId], 'already revoked ones are not counted')
  t.equal((await session(db, a.sessionId)).revoked_at, null)
  t.same(await revokeUserSessions(db, RULES, 'u1', 'logout_global', T0 + 2), [a.sessionId])
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
  | { kind: 'present', token: number }
  | { kind: 'revoke', session: number }

// Steps of nothing and steps that land exactly on the reuse intervals are drawn often: the rules' edges are there.
const advance = fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.constantFrom(0, 1, 1000, 2000))
const present = fc.record({ kind: fc.constant('present' as const), token: fc.nat() })

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
      const key = await loadRefreshKey(db, T0)
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
          let expected: { ok: true, value: string, replayed: boolean } | { ok: false, reason: string }
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
            } else {
              s.revoked = true
              expected = { ok: false, reason: 'reuse' }
            }
          }

          const outcome = await store.transaction(trx => rotateRefreshToken(trx, rules, key, token.value, now))
          let actual: typeof expected
          if ('session' in outcome) {
            if (outcome.session.sessionId !== s.id) throw new Error('rotated into another session')
            actual = { ok: true, value: outcome.session.refreshToken, replayed: outcome.kind === 'replayed' }
          } else {
            actual = { ok: false, reason: outcome.kind === 'reuse' ? 'reuse' : outcome.reason }
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

test('pruning every expired revocation keeps the newest row, so a follower\'s cursor stays valid and new revocations follow it', async (t) => {
  const { db } = await setup(t)
  const tokenLife = RULES.accessTokenTtl * 1000 + 60_000
  for (const user of ['u1', 'u2']) {
    const opened = await openSession(db, RULES, user, CLIENT, T0 - tokenLife - 1000)
    await revokeSession(db, RULES, opened.sessionId, 'logout', T0 - tokenLife)
  }
  const cursor = await latestRevocation(db)
  t.same(await pruneExpired(db, RULES, T0), { sessions: 2, revocations: 1 }, 'both expired, one deleted')
  t.equal(await latestRevocation(db), cursor, 'the newest sequence number is still the latest')
  t.same((await revocationsSince(db, 0, T0)).sessions, [], 'the kept row, past its expiry, is not listed from the start either')

  const fresh = await openSession(db, RULES, 'u1', CLIENT, T0)
  await revokeSession(db, RULES, fresh.sessionId, 'logout', T0)
  const page = await revocationsSince(db, cursor, T0)
  t.same(page.sessions.map(s => s.sid), [fresh.sessionId], 'a revocation after the pruning follows the old cursor')
  t.ok(Number(page.cursor) > cursor)
})
