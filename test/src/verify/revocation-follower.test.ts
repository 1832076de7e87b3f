import { setTimeout as sleep } from 'node:timers/promises'
import Fastify from 'fastify'
import { test } from 'tap'
import { RevocationFollower, type RevocationFollowerOptions } from '../../../src/verify/revocation-follower.js'
import { build } from '../../helpers/build.js'
import { eventually, testClock } from '../../helpers/clock.js'
import { bearer, nowSeconds } from '../../helpers/tokens.js'

// The follower of Gatehouse's /.well-known/revoked-sessions feed, against a feed server the test scripts.

interface Teardown { teardown (fn: () => unknown): void }

interface FeedReply { status?: number, body?: unknown, hang?: boolean }

interface FeedServer {
  url: string
  /** The `since` of every request, '' when there was none. */
  asked: string[]
  answer: (since: string) => FeedReply
}

async function startFeed (t: Teardown, answer: FeedServer['answer']): Promise<FeedServer> {
  const app = Fastify({ forceCloseConnections: true })
  const feed: FeedServer = { url: '', asked: [], answer }
  app.get<{ Querystring: { since?: string } }>('/.well-known/revoked-sessions', async (request, reply) => {
    const since = request.query.since ?? ''
    feed.asked.push(since)
    const { status = 200, body, hang = false } = feed.answer(since)
    if (hang) return reply.hijack()
    return reply.code(status).send(body)
  })
  feed.url = `${await app.listen({ host: '127.0.0.1', port: 0 })}/.well-known/revoked-sessions`
  t.teardown(() => app.close())
  return feed
}

function follower (t: Teardown, url: string, options: Partial<RevocationFollowerOptions> = {}) {
  const changes: boolean[] = []
  const errors: unknown[] = []
  const revocations = new RevocationFollower({
    url,
    clockTolerance: 5_000,
    onAvailabilityChange: (available, error) => { changes.push(available); errors.push(error) },
    ...options
  })
  t.teardown(() => revocations.stop())
  return { revocations, changes, errors }
}

const soon = () => nowSeconds() + 900
const page = (sids: string[], cursor: string, exp = soon()) => ({ body: { sessions: sids.map(sid => ({ sid, exp })), cursor } })

test('a session the feed lists is revoked after a poll, and not before', async (t) => {
  const feed = await startFeed(t, () => page(['s1'], '1'))
  const { revocations, changes } = follower(t, feed.url)
  t.notOk(revocations.has('s1'))
  await revocations.poll()
  t.ok(revocations.has('s1'))
  t.notOk(revocations.has('s2'))
  t.equal(revocations.size, 1)
  t.strictSame(changes, [], 'nothing to report while the feed works')
})

test('a poll follows the cursor page by page until it stops changing, and the next poll starts from it', async (t) => {
  const pages: Record<string, FeedReply> = { '': page(['a'], '1'), 1: page(['b'], '2'), 2: page([], '2') }
  const feed = await startFeed(t, since => pages[since] ?? { status: 400, body: {} })
  const { revocations } = follower(t, feed.url)
  await revocations.poll()
  t.strictSame(feed.asked, ['', '1', '2'])
  t.ok(revocations.has('a') && revocations.has('b'))
  pages[2] = page(['c'], '3')
  pages[3] = page([], '3')
  await revocations.poll()
  t.strictSame(feed.asked, ['', '1', '2', '2', '3'])
  t.ok(revocations.has('c'))
})

test('one poll follows at most a hundred pages', async (t) => {
  const feed = await startFeed(t, since => page([`s${since}`], String(Number(since) + 1)))
  const { revocations } = follower(t, feed.url)
  await revocations.poll()
  t.equal(feed.asked.length, 100)
  t.equal(revocations.size, 100)
  await revocations.poll()
  t.equal(feed.asked[100], '100', 'the next poll goes on from there')
})

test('a feed that fails keeps the list, is reported once, and its recovery is reported', async (t) => {
  let down = false
  const feed = await startFeed(t, () => down ? { status: 500, body: { error: 'down' } } : page(['s1'], '1'))
  const { revocations, changes, errors } = follower(t, feed.url)
  await revocations.poll()
  down = true
  await revocations.poll()
  await revocations.poll()
  t.ok(revocations.has('s1'), 'the revocations known before the outage still hold')
  t.strictSame(changes, [false], 'reported once')
  t.match(String(errors[0]), /revocation feed answered 500/)
  down = false
  await revocations.poll()
  t.strictSame(changes, [false, true])
})

test('a feed that cannot be reached counts as failing', async (t) => {
  const feed = await startFeed(t, () => page([], '0'))
  const { revocations, changes } = follower(t, feed.url.replace(/:\d+\//, ':1/'))
  await revocations.poll()
  t.strictSame(changes, [false])
  t.equal(feed.asked.length, 0)
})

test('a reply without a body (304) counts as failing', async (t) => {
  const feed = await startFeed(t, () => ({ status: 304 }))
  const { revocations, changes } = follower(t, feed.url)
  await revocations.poll()
  t.strictSame(changes, [false])
})

test('a body of the wrong shape counts as failing and does not move the cursor', async (t) => {
  const bodies: unknown[] = [
    { sessions: 'all', cursor: '1' },
    { sessions: [{ sid: 's1' }], cursor: '1' },
    { sessions: [{ sid: 's1', exp: 1.5 }], cursor: '1' },
    { sessions: [], cursor: 1 },
    { sessions: [], cursor: 'x'.repeat(33) },
    []
  ]
  let body: unknown
  const feed = await startFeed(t, () => ({ body }))
  for (const next of bodies) {
    body = next
    const { revocations, changes } = follower(t, feed.url)
    await revocations.poll()
    t.strictSame(changes, [false], JSON.stringify(next))
    t.equal(revocations.size, 0)
  }
  t.ok(feed.asked.every(since => since === ''), 'every poll started over: no cursor was taken from a bad body')
})

test('a feed answering 200 with something other than JSON counts as failing', async (t) => {
  const feed = await startFeed(t, () => ({ body: 'not json' }))
  const { revocations, changes } = follower(t, feed.url)
  await revocations.poll()
  t.strictSame(changes, [false])
})

test('a cursor the feed no longer knows (400) makes the follower read the feed again from the start', async (t) => {
  let known = true
  // The feed's store is replaced: its sequence restarts, and cursor 5 is past its newest revocation.
  const feed = await startFeed(t, since => {
    const pages: Record<string, FeedReply> = known ? { '': page(['a'], '5'), 5: page([], '5') } : { '': page(['b'], '1'), 1: page([], '1') }
    return pages[since] ?? { status: 400, body: { code: 'invalid_request' } }
  })
  const { revocations, changes } = follower(t, feed.url)
  await revocations.poll()
  t.strictSame(feed.asked, ['', '5'])
  known = false
  await revocations.poll()
  t.strictSame(feed.asked.slice(2), ['5', '', '1'], 'restarted from the start, then followed the new cursor')
  t.ok(revocations.has('a') && revocations.has('b'), 'what was known is kept and the new feed is added')
  t.strictSame(changes, [], 'a reset is not a failure')
})

test('a 400 to the first request, without a cursor, is a failure', async (t) => {
  const feed = await startFeed(t, () => ({ status: 400, body: { code: 'invalid_request' } }))
  const { revocations, changes } = follower(t, feed.url)
  await revocations.poll()
  t.strictSame(changes, [false])
  t.strictSame(feed.asked, [''], 'no loop')
})

test('a revocation holds until its exp plus the clock tolerance, and is then dropped', async (t) => {
  const exp = nowSeconds() + 60
  const feed = await startFeed(t, () => ({ body: { sessions: [{ sid: 'live', exp }, { sid: 'late', exp: nowSeconds() - 2 }, { sid: 'gone', exp: nowSeconds() - 10 }], cursor: '3' } }))
  const { revocations } = follower(t, feed.url, { clockTolerance: 5_000 })
  await revocations.poll()
  t.ok(revocations.has('live'))
  t.ok(revocations.has('live', exp * 1000 + 4_999), 'inside the tolerance past exp')
  t.notOk(revocations.has('live', exp * 1000 + 5_000), 'not after it')
  t.ok(revocations.revoked.has('live', exp * 1000 + 4_999), 'the set the bearer check reads holds the same')
  t.notOk(revocations.revoked.has('live', exp * 1000 + 5_000))
  t.ok(revocations.has('late'), 'two seconds past exp is inside five seconds of tolerance')
  t.notOk(revocations.has('gone'))
  t.equal(revocations.size, 2, 'an entry past exp and tolerance is dropped at the poll')
})

test('with a clock given, it alone decides when a revocation has expired', async (t) => {
  const exp = 2_000_000_000
  const feed = await startFeed(t, () => ({ body: { sessions: [{ sid: 'live', exp }], cursor: '1' } }))
  const clock = testClock(exp * 1000 + 4_999)
  const { revocations } = follower(t, feed.url, { clockTolerance: 5_000, clock })
  await revocations.poll()
  t.ok(revocations.has('live'), 'inside the tolerance past exp, by the clock')
  clock.advance(1)
  t.notOk(revocations.has('live'), 'refused no more once the clock has passed it')
  t.equal(revocations.size, 1, 'held until the next poll')
  await revocations.poll()
  t.equal(revocations.size, 0, 'which drops it')
})

test('polls that overlap share one request', async (t) => {
  const feed = await startFeed(t, () => page(['s1'], '1'))
  const { revocations } = follower(t, feed.url)
  await Promise.all([revocations.poll(), revocations.poll(), revocations.poll()])
  t.strictSame(feed.asked, ['', '1'])
})

test('start polls on an interval and stop ends it', async (t) => {
  const feed = await startFeed(t, () => page([], '0'))
  const { revocations } = follower(t, feed.url)
  revocations.start(30)
  await eventually(() => feed.asked.length >= 3, 'three polls')
  revocations.stop()
  t.ok(feed.asked.length >= 3, `polled ${feed.asked.length} times`)
  // A poll sent just before stop() may reach the feed after it: let it finish (poll() joins it) before counting.
  await revocations.poll()
  const asked = feed.asked.length
  await sleep(100)
  t.equal(feed.asked.length, asked, 'no poll after stop')
})

test('a feed slower than the timeout counts as failing', async (t) => {
  const feed = await startFeed(t, () => ({ hang: true }))
  const { revocations, changes } = follower(t, feed.url, { timeout: 100 })
  const started = Date.now()
  await revocations.poll()
  t.ok(Date.now() - started < 2_000)
  t.strictSame(changes, [false])
})

test('against a real Gatehouse: every session a global logout revokes is picked up at the next poll', async (t) => {
  const server = await build(t)
  const feedUrl = `${await server.listen({ host: '127.0.0.1', port: 0 })}/.well-known/revoked-sessions`
  const { revocations, changes } = follower(t, feedUrl)
  await revocations.poll()
  t.equal(revocations.size, 0)

  await server.inject({ method: 'POST', url: '/auth/signup', payload: { email: 'ada@example.com', password: 'correct horse battery' } })
  const login = async () => (await server.inject({ method: 'POST', url: '/auth/login', payload: { email: 'ada@example.com', password: 'correct horse battery' } })).json<{ access_token: string }>().access_token
  const tokens = [await login(), await login()]
  const sids = tokens.map(token => JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()).sid as string)
  t.equal((await server.inject({ method: 'POST', url: '/auth/logout?scope=global', headers: bearer(tokens[0] ?? '') })).statusCode, 204)
  await revocations.poll()
  t.ok(sids.every(sid => revocations.has(sid)), 'both sessions are revoked here')

  t.strictSame(changes, [])
})
