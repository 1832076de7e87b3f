import { test } from 'tap'
import { createLoginThrottle, type LoginThrottle } from '../../../src/domain/login-throttle.js'

const EMAIL = 'ada@example.com'
const IP = '192.0.2.1'

/** Reserves `n` attempts at `now`, as `n` failed logins would. */
function fail (throttle: LoginThrottle, n: number, now: number, email = EMAIL, ip = IP) {
  for (let i = 0; i < n; i++) throttle.reserve(email, ip, now)
}

test('attempts below the limit may go ahead', async (t) => {
  const throttle = createLoginThrottle({ maxAttempts: 3, windowSeconds: 60 })
  t.equal(throttle.reserve(EMAIL, IP, 0), 0)
  t.equal(throttle.reserve(EMAIL, IP, 1000), 0)
  t.equal(throttle.reserve(EMAIL, IP, 2000), 0)
  t.equal(throttle.reserve(EMAIL, IP, 3000), 57, 'the fourth is refused for the rest of the window')
})

test('attempts are counted before their verdict, so concurrent guesses cannot exceed the limit', async (t) => {
  const throttle = createLoginThrottle({ maxAttempts: 10, windowSeconds: 60 })
  // Thirty guesses in flight at once: none has failed yet, but only ten may be checked.
  const verdicts = Array.from({ length: 30 }, () => throttle.reserve(EMAIL, IP, 0))
  t.equal(verdicts.filter(v => v === 0).length, 10)
  t.equal(verdicts.filter(v => v === 60).length, 20)
})

test('reaching the limit throttles until the window that started at the first attempt ends', async (t) => {
  const throttle = createLoginThrottle({ maxAttempts: 3, windowSeconds: 60 })
  fail(throttle, 1, 10_000)
  fail(throttle, 1, 20_000)
  fail(throttle, 1, 30_000)
  t.equal(throttle.reserve(EMAIL, IP, 30_000), 40, 'seconds left in the window')
  t.equal(throttle.reserve(EMAIL, IP, 69_001), 1, 'rounded up')
  t.equal(throttle.reserve(EMAIL, IP, 69_999), 1, 'at least one second while throttled')
  t.equal(throttle.reserve(EMAIL, IP, 70_000), 0, 'free once the window has passed')
})

test('refused attempts do not extend the window', async (t) => {
  const throttle = createLoginThrottle({ maxAttempts: 2, windowSeconds: 10 })
  fail(throttle, 2, 0)
  t.equal(throttle.reserve(EMAIL, IP, 9_000), 1)
  t.equal(throttle.reserve(EMAIL, IP, 9_500), 1)
  t.equal(throttle.reserve(EMAIL, IP, 10_000), 0)
})

test('an attempt after the window starts a new count', async (t) => {
  const throttle = createLoginThrottle({ maxAttempts: 2, windowSeconds: 10 })
  fail(throttle, 1, 0)
  fail(throttle, 1, 10_000) // the first window has expired: this is attempt 1 of a new one
  t.equal(throttle.reserve(EMAIL, IP, 15_000), 0)
  t.equal(throttle.reserve(EMAIL, IP, 15_000), 5)
  t.equal(throttle.reserve(EMAIL, IP, 20_000), 0)
})

test('a success clears the pair', async (t) => {
  const throttle = createLoginThrottle({ maxAttempts: 2, windowSeconds: 60 })
  fail(throttle, 1, 0)
  throttle.recordSuccess(EMAIL, IP)
  fail(throttle, 1, 1000)
  t.equal(throttle.reserve(EMAIL, IP, 2000), 0)
  t.equal(throttle.reserve(EMAIL, IP, 2000), 59, 'the new window started at the attempt after the success')
  throttle.recordSuccess(EMAIL, IP)
  t.equal(throttle.reserve(EMAIL, IP, 2000), 0)
})

test('a released attempt (no verdict, e.g. overloaded) is not counted', async (t) => {
  const throttle = createLoginThrottle({ maxAttempts: 1, windowSeconds: 60 })
  t.equal(throttle.reserve(EMAIL, IP, 0), 0)
  throttle.release(EMAIL, IP, 0)
  t.equal(throttle.reserve(EMAIL, IP, 0), 0, 'the slot is free again')
  t.equal(throttle.reserve(EMAIL, IP, 0), 60)
  throttle.release('nobody@example.com', IP, 0)
  t.equal(throttle.reserve(EMAIL, IP, 0), 60, 'releasing an unknown pair changes nothing')
})

test('pairs are counted separately by email and by address', async (t) => {
  const throttle = createLoginThrottle({ maxAttempts: 1, windowSeconds: 60 })
  fail(throttle, 1, 0)
  t.ok(throttle.reserve(EMAIL, IP, 0) > 0)
  t.equal(throttle.reserve('bob@example.com', IP, 0), 0)
  t.equal(throttle.reserve(EMAIL, '192.0.2.2', 0), 0)
  throttle.recordSuccess('bob@example.com', IP)
  t.ok(throttle.reserve(EMAIL, IP, 0) > 0, 'another pair\'s success does not clear this one')
})

test('pair keys cannot be confused by moving text between email and address', async (t) => {
  const throttle = createLoginThrottle({ maxAttempts: 1, windowSeconds: 60 })
  fail(throttle, 1, 0, 'b@c.d', 'a')
  t.equal(throttle.reserve('c.d', 'a@b', 0), 0)
  t.equal(throttle.reserve('@c.d', 'ab', 0), 0)
})

test('expired windows are pruned when a new pair arrives', async (t) => {
  const throttle = createLoginThrottle({ maxAttempts: 1, windowSeconds: 1, maxEntries: 2 })
  fail(throttle, 1, 0, 'a@x.io')
  fail(throttle, 1, 500, 'b@x.io')
  fail(throttle, 1, 1200, 'c@x.io') // prunes a (expired), keeps b
  t.equal(throttle.reserve('b@x.io', IP, 1300), 1, 'b is still throttled')
  t.equal(throttle.reserve('c@x.io', IP, 1300), 1)
  t.equal(throttle.reserve('a@x.io', IP, 1300), 0, 'a starts afresh')
})

test('past maxEntries, windows that block nobody are evicted and blocking ones kept', async (t) => {
  const throttle = createLoginThrottle({ maxAttempts: 2, windowSeconds: 60, maxEntries: 2 })
  fail(throttle, 2, 0, 'blocked@x.io')
  fail(throttle, 1, 1, 'b@x.io')
  fail(throttle, 1, 2, 'c@x.io') // over the bound: b (not blocking) goes, the blocked pair stays
  fail(throttle, 1, 3, 'd@x.io')
  t.equal(throttle.reserve('blocked@x.io', IP, 4), 60, 'a flood of new pairs does not lift a block')
  t.equal(throttle.reserve('b@x.io', IP, 4), 0, 'b was evicted: its one attempt is forgotten')
})

test('when every window is blocking, the oldest goes: the map never outgrows its cap', async (t) => {
  const throttle = createLoginThrottle({ maxAttempts: 1, windowSeconds: 60, maxEntries: 2 })
  fail(throttle, 1, 0, 'a@x.io')
  fail(throttle, 1, 1, 'b@x.io')
  fail(throttle, 1, 2, 'c@x.io')
  t.equal(throttle.size, 2)
  for (const email of ['b@x.io', 'c@x.io']) t.equal(throttle.reserve(email, IP, 3), 60, `${email} stays blocked`)
  t.equal(throttle.reserve('a@x.io', IP, 3), 0, 'the oldest block was dropped to make room')
  t.equal(throttle.size, 2)
})

test('a flood of distinct pairs, blocking or not, never grows the map past its cap', async (t) => {
  const throttle = createLoginThrottle({ maxAttempts: 2, windowSeconds: 60, maxEntries: 50 })
  let largest = 0
  for (let i = 0; i < 2000; i++) {
    const email = `guess${i}@x.io`
    throttle.reserve(email, IP, i)
    if (i % 2 === 0) throttle.reserve(email, IP, i)
    largest = Math.max(largest, throttle.size)
  }
  t.equal(largest, 50, 'held at most maxEntries pairs')
})

test('eviction stops as soon as there is room', async (t) => {
  const throttle = createLoginThrottle({ maxAttempts: 2, windowSeconds: 60, maxEntries: 2 })
  fail(throttle, 1, 0, 'b@x.io')
  fail(throttle, 1, 1, 'c@x.io')
  fail(throttle, 1, 2, 'd@x.io') // evicts b only
  t.equal(throttle.reserve('c@x.io', IP, 3), 0, 'c kept its attempt: this is its second')
  t.equal(throttle.reserve('c@x.io', IP, 3), 60, 'and now c is blocked')
})
