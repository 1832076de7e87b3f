import { test } from 'tap'
import type { Db } from '../../src/store/index.js'
import { serviceContext } from '../../plugins/services.js'
import { refresh } from '../../src/services/refresh.js'
import type { Caller, ServiceContext } from '../../src/services/index.js'
import { loggedIn, signedUp } from '../helpers/auth.js'
import { build } from '../helpers/build.js'

// Where a store's transactions do not take the write lock up front (PostgreSQL
// at READ COMMITTED), two refreshes of one token can both read it unspent; the
// compare-and-set still lets only one mint, and the loser is logged and audited.

function contextWithoutWriteLock (app: Awaited<ReturnType<typeof build>>): ServiceContext {
  return { ...serviceContext(app), store: { ...app.store, transaction: <T>(work: (trx: Db) => Promise<T>) => work(app.store.db) } }
}

function recordingCaller () {
  const lines: Array<{ level: string, fields: object, message: string }> = []
  const caller: Caller = {
    ip: '192.0.2.9',
    userAgent: 'race-test',
    log: {
      info: (fields, message) => { lines.push({ level: 'info', fields, message }) },
      warn: (fields, message) => { lines.push({ level: 'warn', fields, message }) }
    }
  }
  return { caller, lines }
}

async function auditDetails (app: Awaited<ReturnType<typeof build>>) {
  const rows = await app.store.db.selectFrom('audit_events').select(['type', 'detail']).where('type', 'in', ['refresh', 'refresh_reuse']).orderBy('id').execute()
  return rows.map(row => [row.type, row.detail])
}

test('within the reuse interval, the loser of a rotation race gets the same child, and the race is logged and audited', async (t) => {
  const app = await build(t)
  await signedUp(app)
  const pair = await loggedIn(app)
  const ctx = contextWithoutWriteLock(app)
  const { caller, lines } = recordingCaller()

  const [a, b] = await Promise.all([refresh(ctx, caller, pair.refresh_token), refresh(ctx, caller, pair.refresh_token)])
  t.equal(a.refreshToken, b.refreshToken, 'one child for both')
  t.same(await auditDetails(app), [['refresh', null], ['refresh', 'parent replayed within the reuse interval (lost a concurrent rotation)']])
  t.ok(lines.some(line => line.level === 'info' && /lost a concurrent rotation/.test(line.message)), 'the race is logged')
})

test('with REFRESH_REUSE_INTERVAL=0, the loser of a rotation race revokes the session, and says why', async (t) => {
  const app = await build(t, { REFRESH_REUSE_INTERVAL: '0' })
  await signedUp(app)
  const pair = await loggedIn(app)
  const ctx = contextWithoutWriteLock(app)
  const { caller, lines } = recordingCaller()

  const outcomes = await Promise.allSettled([refresh(ctx, caller, pair.refresh_token), refresh(ctx, caller, pair.refresh_token)])
  t.same(outcomes.map(o => o.status), ['fulfilled', 'rejected'])
  t.same(await auditDetails(app), [['refresh', null], ['refresh_reuse', 'lost a concurrent rotation; session revoked']])
  t.ok(lines.some(line => line.level === 'warn' && (line.fields as { lostRace?: boolean }).lostRace === true), 'the reuse is logged as a lost race')
  t.ok(app.revocations.revoked.has(pair.sid, app.clock.now()), 'the session is refused here at once')
})
