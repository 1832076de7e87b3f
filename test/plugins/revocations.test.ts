import { sql } from 'kysely'
import { test } from 'tap'
import { build } from '../helpers/build.js'
import { eventually, testClock } from '../helpers/clock.js'
import { logCollector } from '../helpers/tokens.js'

/** Counts the app's revocation syncs, the background ones included. */
function countSyncs (app: Awaited<ReturnType<typeof build>>) {
  const counter = { syncs: 0, at: [] as number[] }
  const sync = app.revocations.sync.bind(app.revocations)
  app.revocations.sync = (now?: number) => {
    counter.syncs++
    if (now !== undefined) counter.at.push(now)
    return sync(now)
  }
  return counter
}

test('revocations are synced in the background every revocationSyncInterval, at the app clock\'s time', async (t) => {
  const clock = testClock(1_900_000_000_000)
  const app = await build(t, {}, { clock, timings: { revocationSyncInterval: 10 } })
  const counter = countSyncs(app)
  // Held until its access tokens and the margin have expired, by the app's clock.
  const addedAt = clock.now()
  app.revocations.add('session-1', addedAt)
  await eventually(() => counter.syncs >= 2, 'two background syncs')
  t.ok(counter.at.every(at => at === clock.now()), 'each sync is given the app clock\'s time')
  t.ok(app.revocations.revoked.has('session-1', clock.now()), 'still held')

  clock.advance(3600_000)
  const before = counter.syncs
  await eventually(() => counter.syncs >= before + 2, 'two more background syncs')
  t.notOk(app.revocations.revoked.has('session-1', addedAt), 'dropped once the clock has passed its expiry: not even held for an earlier time')
})

test('a failing background sync is logged once when it starts failing and once when it works again', async (t) => {
  const log = logCollector()
  const app = await build(t, {}, { logger: { level: 'info', stream: log.stream }, timings: { revocationSyncInterval: 10 } })
  const counter = countSyncs(app)
  const messages = () => log.lines.filter(line => /revocation sync/.test(line.msg)).map(line => [line.level, line.msg])
  const failing = [40, 'revocation sync failed; revocations made by other instances are not seen until it works again']

  // The store's revocations out of reach, as in an outage of a shared database.
  await sql`alter table revocations rename to revocations_away`.execute(app.store.db)
  const failedFrom = counter.syncs
  await eventually(() => counter.syncs >= failedFrom + 5, 'five syncs have failed')
  t.strictSame(messages(), [failing], 'one warning for the whole outage')
  t.match(log.lines.find(line => line.level === 40)?.err, { message: /revocations/ }, 'with its error')

  await sql`alter table revocations_away rename to revocations`.execute(app.store.db)
  await eventually(() => messages().length === 2, 'the recovery is logged')
  const recoveredAt = counter.syncs
  await eventually(() => counter.syncs >= recoveredAt + 3, 'three more syncs have worked')
  t.strictSame(messages(), [failing, [30, 'revocation sync works again']], 'and one line when it works again')
})
