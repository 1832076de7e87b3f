import Fastify from 'fastify'
import { test } from 'tap'
import { runInBackground } from '../../../src/server/background.js'
import { eventually } from '../../helpers/clock.js'
import { logCollector } from '../../helpers/tokens.js'

const MESSAGES = { failing: 'the task failed', recovered: 'the task works again' }

function appWithLog (t: { teardown (fn: () => unknown): void }) {
  const log = logCollector()
  const app = Fastify({ logger: { level: 'info', stream: log.stream } })
  t.teardown(() => app.close())
  const lines = () => log.lines.map(({ level, msg, err }) => ({ level, msg, err: (err as { message?: string } | undefined)?.message }))
  return { app, lines }
}

test('the task runs again and again, one run at a time, the interval after the last one ended', async (t) => {
  const { app } = appWithLog(t)
  let runs = 0
  let running = 0
  let overlapped = false
  const ends: number[] = []
  runInBackground(app, async () => {
    runs++
    if (++running > 1) overlapped = true
    await new Promise(resolve => setTimeout(resolve, 30))
    running--
    ends.push(Date.now())
  }, { interval: 5, ...MESSAGES })
  await eventually(() => runs >= 4, 'four runs have started')
  t.notOk(overlapped, 'no run started while another was running, though each lasts longer than the interval')
  t.ok(ends.length >= 3)
})

test('a failing task is logged once when it starts failing, with its error, and once when it works again', async (t) => {
  const { app, lines } = appWithLog(t)
  // Runs 4 to 8 fail, then 12 and 13; every run after the script works.
  const script = 'ooofffffoooffo'
  let runs = 0
  runInBackground(app, async () => {
    runs++
    if (script[runs - 1] === 'f') throw new Error(`run ${runs} failed`)
  }, { interval: 1, ...MESSAGES })
  await eventually(() => runs > script.length + 3, 'the script has run, and a few runs after it')
  t.strictSame(lines(), [
    { level: 40, msg: 'the task failed', err: 'run 4 failed' },
    { level: 30, msg: 'the task works again', err: undefined },
    { level: 40, msg: 'the task failed', err: 'run 12 failed' },
    { level: 30, msg: 'the task works again', err: undefined }
  ], 'each outage is told when it starts, with its first error, and when it ends; nothing else')
})

test('closing the app stops the runs and waits for the one in flight', async (t) => {
  const { app } = appWithLog(t)
  let runs = 0
  let finished = 0
  runInBackground(app, async () => {
    runs++
    await new Promise(resolve => setTimeout(resolve, 50))
    finished++
  }, { interval: 1, ...MESSAGES })
  await eventually(() => runs === 1, 'a run has started')
  await app.close()
  t.equal(finished, runs, 'the run in flight had finished when close resolved')
  await new Promise(resolve => setTimeout(resolve, 30))
  t.equal(runs, 1, 'no run after close')
})

test('closing the app between runs cancels the next one', async (t) => {
  const { app } = appWithLog(t)
  let runs = 0
  runInBackground(app, async () => { runs++ }, { interval: 20, ...MESSAGES })
  await app.close()
  await new Promise(resolve => setTimeout(resolve, 60))
  t.equal(runs, 0)
})
