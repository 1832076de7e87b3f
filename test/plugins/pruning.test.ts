import { sql } from 'kysely'
import { test } from 'tap'
import { loggedIn, signedUp } from '../helpers/auth.js'
import { build } from '../helpers/build.js'
import { eventually, testClock } from '../helpers/clock.js'
import { logCollector } from '../helpers/tokens.js'

type App = Awaited<ReturnType<typeof build>>

const sessionCount = async (app: App) =>
  Number((await app.store.db.selectFrom('sessions').select(eb => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)

test('sessions past their limits are deleted in the background every pruneInterval, by the app clock', async (t) => {
  const clock = testClock()
  const app = await build(t, {}, { clock, timings: { pruneInterval: 10 } })
  await signedUp(app)
  await loggedIn(app)
  // A few runs of the pruning at the present time leave the live session alone.
  await new Promise(resolve => setTimeout(resolve, 50))
  t.equal(await sessionCount(app), 1, 'a live session is kept')

  // Past the session's absolute limit and its last access token's life, by the app's clock alone.
  clock.advance((app.sessionRules.sessionMaxAge + app.sessionRules.accessTokenTtl) * 1000 + 3600_000)
  await eventually(async () => await sessionCount(app) === 0, 'the session has been pruned')
  t.pass('the dead session is deleted without a restart')
})

test('failing pruning is logged once when it starts failing and once when it works again', async (t) => {
  const log = logCollector()
  // Each pruning run reads the clock once; nothing else does here (the other intervals are long), so reads count runs.
  let runs = 0
  const clock = { now: () => { runs++; return Date.now() } }
  const timings = { pruneInterval: 10, keyReloadInterval: 3600_000, revocationSyncInterval: 3600_000 }
  const app = await build(t, {}, { clock, logger: { level: 'info', stream: log.stream }, timings })
  const messages = () => log.lines.filter(line => /pruning/.test(line.msg)).map(line => [line.level, line.msg])

  await sql`alter table sessions rename to sessions_away`.execute(app.store.db)
  const failedFrom = runs
  await eventually(() => runs >= failedFrom + 5, 'five runs have failed')
  t.strictSame(messages(), [[40, 'pruning expired sessions failed']], 'one warning however many runs failed')

  await sql`alter table sessions_away rename to sessions`.execute(app.store.db)
  await eventually(() => messages().length === 2, 'the recovery is logged')
  const recoveredAt = runs
  await eventually(() => runs >= recoveredAt + 3, 'three more runs have worked')
  t.strictSame(messages(), [[40, 'pruning expired sessions failed'], [30, 'pruning expired sessions works again']])
  t.notOk(log.lines.some(line => /pruned expired sessions/.test(line.msg)), 'a run that works logs at debug level only')
})
