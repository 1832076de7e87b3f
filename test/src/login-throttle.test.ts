import { test } from 'tap'
import { createLoginThrottle } from '../../src/login-throttle.js'

const EMAIL = 'ada@example.com'
const IP = '192.0.2.1'

test('a pair without failures may try', async (t) => {
  const throttle = createLoginThrottle({ maxAttempts: 3, windowSeconds: 60 })
  t.equal(throttle.retryAfter(EMAIL, IP, 0), 0)
})

test('failures below the limit do not throttle', async (t) => {
  const throttle = createLoginThrottle({ maxAttempts: 3, windowSeconds: 60 })
  throttle.recordFailure(EMAIL, IP, 0)
  throttle.recordFailure(EMAIL, IP, 1000)
  t.equal(throttle.retryAfter(EMAIL, IP, 2000), 0)
})

test('reaching the limit throttles until the window that started at the first failure ends', async (t) => {
  const throttle = createLoginThrottle({ maxAttempts: 3, windowSeconds: 60 })
  throttle.recordFailure(EMAIL, IP, 10_000)
  throttle.recordFailure(EMAIL, IP, 20_000)
  throttle.recordFailure(EMAIL, IP, 30_000)
  t.equal(throttle.retryAfter(EMAIL, IP, 30_000), 40, 'seconds left in the window')
  t.equal(throttle.retryAfter(EMAIL, IP, 69_001), 1, 'rounded up')
  t.equal(throttle.retryAfter(EMAIL, IP, 69_999), 1, 'at least one second while throttled')
  t.equal(throttle.retryAfter(EMAIL, IP, 70_000), 0, 'free once the window has passed')
})

test('the window is fixed: failures late in it do not extend it', async (t) => {
  const throttle = createLoginThrottle({ maxAttempts: 2, windowSeconds: 10 })
  throttle.recordFailure(EMAIL, IP, 0)
  throttle.recordFailure(EMAIL, IP, 9_000)
  throttle.recordFailure(EMAIL, IP, 9_500)
  t.equal(throttle.retryAfter(EMAIL, IP, 9_500), 1)
  t.equal(throttle.retryAfter(EMAIL, IP, 10_000), 0)
})

test('a failure after the window starts a new count', async (t) => {
  const throttle = createLoginThrottle({ maxAttempts: 2, windowSeconds: 10 })
  throttle.recordFailure(EMAIL, IP, 0)
  throttle.recordFailure(EMAIL, IP, 10_000) // the first window has expired: this is failure 1 of a new one
  t.equal(throttle.retryAfter(EMAIL, IP, 10_001), 0)
  throttle.recordFailure(EMAIL, IP, 15_000)
  t.equal(throttle.retryAfter(EMAIL, IP, 15_000), 5)
  t.equal(throttle.retryAfter(EMAIL, IP, 20_000), 0)
})

test('a success clears the pair\'s failures', async (t) => {
  const throttle = createLoginThrottle({ maxAttempts: 2, windowSeconds: 60 })
  throttle.recordFailure(EMAIL, IP, 0)
  throttle.recordSuccess(EMAIL, IP)
  throttle.recordFailure(EMAIL, IP, 1000)
  t.equal(throttle.retryAfter(EMAIL, IP, 1000), 0)
  throttle.recordFailure(EMAIL, IP, 2000)
  t.equal(throttle.retryAfter(EMAIL, IP, 2000), 59, 'the new window started at the failure after the success')
  throttle.recordSuccess(EMAIL, IP)
  t.equal(throttle.retryAfter(EMAIL, IP, 2000), 0)
})

test('pairs are counted separately by email and by address', async (t) => {
  const throttle = createLoginThrottle({ maxAttempts: 1, windowSeconds: 60 })
  throttle.recordFailure(EMAIL, IP, 0)
  t.ok(throttle.retryAfter(EMAIL, IP, 0) > 0)
  t.equal(throttle.retryAfter('bob@example.com', IP, 0), 0)
  t.equal(throttle.retryAfter(EMAIL, '192.0.2.2', 0), 0)
  throttle.recordSuccess('bob@example.com', IP)
  t.ok(throttle.retryAfter(EMAIL, IP, 0) > 0, 'another pair\'s success does not clear this one')
})

test('pair keys cannot be confused by moving text between email and address', async (t) => {
  const throttle = createLoginThrottle({ maxAttempts: 1, windowSeconds: 60 })
  throttle.recordFailure('b@c.d', 'a', 0)
  t.equal(throttle.retryAfter('c.d', 'a@b', 0), 0)
  t.equal(throttle.retryAfter('@c.d', 'ab', 0), 0)
})

test('expired windows are pruned without evicting live ones', async (t) => {
  const throttle = createLoginThrottle({ maxAttempts: 1, windowSeconds: 1, maxEntries: 2 })
  throttle.recordFailure('a@x.io', IP, 0)
  throttle.recordFailure('b@x.io', IP, 500)
  throttle.recordFailure('c@x.io', IP, 1200) // prunes a (expired), keeps b
  throttle.recordFailure('d@x.io', IP, 1300) // b, c are within maxEntries: nothing to prune
  t.equal(throttle.retryAfter('a@x.io', IP, 1300), 0)
  t.equal(throttle.retryAfter('b@x.io', IP, 1300), 1, 'b is still throttled')
  t.equal(throttle.retryAfter('c@x.io', IP, 1300), 1)
  t.equal(throttle.retryAfter('d@x.io', IP, 1300), 1)
})

test('past maxEntries the oldest windows are evicted first', async (t) => {
  const throttle = createLoginThrottle({ maxAttempts: 1, windowSeconds: 60, maxEntries: 2 })
  throttle.recordFailure('a@x.io', IP, 0)
  throttle.recordFailure('b@x.io', IP, 1)
  throttle.recordFailure('c@x.io', IP, 2)
  throttle.recordFailure('d@x.io', IP, 3) // over the bound: the oldest (a) goes
  t.equal(throttle.retryAfter('a@x.io', IP, 4), 0, 'the oldest window was evicted')
  for (const email of ['b@x.io', 'c@x.io', 'd@x.io']) t.equal(throttle.retryAfter(email, IP, 4), 60, `${email} is still throttled`)
})

test('repeat failures of a live pair do not prune other pairs', async (t) => {
  const throttle = createLoginThrottle({ maxAttempts: 2, windowSeconds: 60, maxEntries: 1 })
  throttle.recordFailure('a@x.io', IP, 0)
  throttle.recordFailure('b@x.io', IP, 1)
  throttle.recordFailure('b@x.io', IP, 2)
  throttle.recordFailure('a@x.io', IP, 3)
  t.equal(throttle.retryAfter('a@x.io', IP, 3), 60)
  t.equal(throttle.retryAfter('b@x.io', IP, 3), 60)
})

test('without an explicit time the throttle uses the clock', async (t) => {
  const throttle = createLoginThrottle({ maxAttempts: 1, windowSeconds: 30 })
  throttle.recordFailure(EMAIL, IP)
  const left = throttle.retryAfter(EMAIL, IP)
  t.ok(left >= 29 && left <= 30, `${left} seconds left`)
})
