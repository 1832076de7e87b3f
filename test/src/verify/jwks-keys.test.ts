import { createPublicKey } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'tap'
import { KeysUnavailableError, UnknownKeyError } from '../../../src/verify/errors.js'
import { createJwksKeySource, type JwksKeySourceOptions } from '../../../src/verify/jwks-keys.js'
import { eventually, testClock } from '../../helpers/clock.js'
import { newKey, startJwks, type TestKey } from '../../helpers/tokens.js'

// The key source behind `jwksUrl`, driven directly so its timings can be short.

const pemOf = (key: TestKey) => key.publicKey.export({ type: 'spki', format: 'pem' }).toString()
const lookup = (key: TestKey, kid = key.kid) => ({ alg: key.alg, kid })

const unknownKey = UnknownKeyError
const keysUnavailable = KeysUnavailableError
const isUnknownKey = (error: unknown) => error instanceof UnknownKeyError

function availabilityLog () {
  const changes: boolean[] = []
  const options: Pick<JwksKeySourceOptions, 'onAvailabilityChange'> = { onAvailabilityChange: (available) => { changes.push(available) } }
  return { changes, options }
}

test('the whole set is fetched once: every published key, the next one included, is then served from the cache', async (t) => {
  const active = newKey()
  const next = newKey()
  const jwks = await startJwks(t, [active.jwk, next.jwk])
  const source = createJwksKeySource({ jwksUrl: jwks.url })
  t.equal(await source.keyFor(lookup(active)), pemOf(active))
  t.equal(await source.keyFor(lookup(next)), pemOf(next), 'a kid never seen in a token is known from the set')
  t.equal(await source.keyFor(lookup(active)), pemOf(active))
  t.equal(jwks.requests, 1)
})

test('a kid published after a miss is picked up once the refetch interval has passed', async (t) => {
  const old = newKey()
  const next = newKey()
  const jwks = await startJwks(t, [old.jwk])
  const clock = testClock()
  const source = createJwksKeySource({ jwksUrl: jwks.url, clock })
  await t.rejects(source.keyFor(lookup(next)), unknownKey)
  jwks.keys = [old.jwk, next.jwk]
  clock.advance(4_999)
  await t.rejects(source.keyFor(lookup(next)), unknownKey, 'still unknown inside the default five seconds')
  t.equal(jwks.requests, 1, 'no fetch inside the interval')
  clock.advance(1)
  t.equal(await source.keyFor(lookup(next)), pemOf(next))
  t.equal(jwks.requests, 2)
})

test('a burst of unknown kids costs one fetch and every lookup gets its verdict', async (t) => {
  const key = newKey()
  const jwks = await startJwks(t, [key.jwk])
  const source = createJwksKeySource({ jwksUrl: jwks.url, refetchInterval: 60_000 })
  const results = await Promise.allSettled(Array.from({ length: 50 }, (_v, i) => source.keyFor(lookup(key, `random-${i}`))))
  t.ok(results.every(result => result.status === 'rejected' && isUnknownKey(result.reason)), 'all 401 unknown key')
  t.equal(jwks.requests, 1)
})

test('unknown kids do not hold up or refuse the known ones', async (t) => {
  const key = newKey()
  const jwks = await startJwks(t, [key.jwk])
  const source = createJwksKeySource({ jwksUrl: jwks.url, refetchInterval: 60_000 })
  await source.refresh()
  jwks.hang = true
  const [known, stranger] = await Promise.allSettled([source.keyFor(lookup(key)), source.keyFor(lookup(key, 'random'))])
  t.strictSame(known, { status: 'fulfilled', value: pemOf(key) })
  t.ok(stranger.status === 'rejected' && isUnknownKey(stranger.reason), 'the unknown kid is refused inside the interval, without a fetch')
  t.equal(jwks.requests, 1)
})

test('lookups that arrive while a fetch is in flight wait for it', async (t) => {
  const key = newKey()
  const other = newKey()
  const jwks = await startJwks(t, [key.jwk])
  const source = createJwksKeySource({ jwksUrl: jwks.url, refetchInterval: 60_000 })
  const [first, second, stranger] = await Promise.allSettled([source.keyFor(lookup(key)), source.keyFor(lookup(key)), source.keyFor(lookup(other))])
  t.strictSame(first, { status: 'fulfilled', value: pemOf(key) })
  t.strictSame(second, { status: 'fulfilled', value: pemOf(key) })
  t.ok(stranger.status === 'rejected' && isUnknownKey(stranger.reason), 'another kid waits for the fetch and is refused')
  t.equal(jwks.requests, 1)
})

test('an empty JWKS publishes no key', async (t) => {
  const jwks = await startJwks(t, [])
  const source = createJwksKeySource({ jwksUrl: jwks.url })
  await t.rejects(source.keyFor(lookup(newKey())), unknownKey)
})

test('a published JWK that is not a usable public key verifies nothing', async (t) => {
  const key = newKey()
  const jwks = await startJwks(t, [{ kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA', kid: 'broken', alg: 'ES256' }])
  const source = createJwksKeySource({ jwksUrl: jwks.url })
  await t.rejects(source.keyFor(lookup(key, 'broken')), unknownKey)
})

test('an unreachable JWKS is 503 for an unknown kid, told once, and told again when it answers', async (t) => {
  const key = newKey()
  const jwks = await startJwks(t, [key.jwk])
  const log = availabilityLog()
  const clock = testClock()
  const source = createJwksKeySource({ jwksUrl: jwks.url, refetchInterval: 100, clock, ...log.options })
  jwks.failWith = 500
  await t.rejects(source.keyFor(lookup(key)), keysUnavailable)
  await t.rejects(source.keyFor(lookup(key)), keysUnavailable, 'inside the interval, the same verdict without a fetch')
  t.equal(jwks.requests, 1)
  clock.advance(100)
  await t.rejects(source.keyFor(lookup(key)), keysUnavailable)
  t.equal(jwks.requests, 2, 'fetched again after the interval')
  t.strictSame(log.changes, [false], 'the outage is told once')
  jwks.failWith = undefined
  clock.advance(100)
  t.equal(await source.keyFor(lookup(key)), pemOf(key))
  t.strictSame(log.changes, [false, true])
})

test('cached keys keep verifying, without waiting, while the JWKS is unreachable or hangs', async (t) => {
  const key = newKey()
  const jwks = await startJwks(t, [key.jwk])
  const log = availabilityLog()
  // A timeout a loaded machine's loopback fetch cannot hit by accident: the hang below is what must not hold lookups up.
  const source = createJwksKeySource({ jwksUrl: jwks.url, refreshInterval: 50, refetchInterval: 0, timeout: 1000, ...log.options })
  source.start()
  t.teardown(() => source.stop())
  t.equal(await source.keyFor(lookup(key)), pemOf(key))
  jwks.failWith = 500
  const failedFrom = jwks.requests
  // Refreshes never overlap: the second failed request means the first has been answered.
  await eventually(() => jwks.requests >= failedFrom + 2, 'a background refresh has failed')
  t.strictSame(log.changes, [false], 'the background refresh noticed the outage, once')
  jwks.failWith = undefined
  jwks.hang = true
  for (let i = 0; i < 4; i++) {
    const started = Date.now()
    t.equal(await source.keyFor(lookup(key)), pemOf(key), `lookup ${i} during the outage`)
    t.ok(Date.now() - started < 50, 'served from the cache, not after a fetch attempt')
    await sleep(60)
  }
  await t.rejects(source.keyFor(lookup(key, 'unknown')), keysUnavailable, 'an unknown kid is 503 while the JWKS cannot answer')
})

test('a JWKS slower than the timeout counts as unreachable, and the fetch is abandoned', async (t) => {
  const key = newKey()
  const jwks = await startJwks(t, [key.jwk])
  jwks.hang = true
  const log = availabilityLog()
  const source = createJwksKeySource({ jwksUrl: jwks.url, timeout: 500, refetchInterval: 0, ...log.options })
  const started = Date.now()
  await t.rejects(source.keyFor(lookup(key)), keysUnavailable)
  t.ok(Date.now() - started < 2_000, 'refused after the timeout, not the default five seconds')
  t.strictSame(log.changes, [false])
  jwks.hang = false
  t.equal(await source.keyFor(lookup(key)), pemOf(key), 'the next attempt fetches again and finds the key')
  t.strictSame(log.changes, [false, true])
})

test('a key the JWKS stops publishing is dropped at the next background refresh', async (t) => {
  const key = newKey()
  const jwks = await startJwks(t, [key.jwk, newKey().jwk])
  const source = createJwksKeySource({ jwksUrl: jwks.url, refreshInterval: 50, refetchInterval: 0 })
  t.equal(await source.keyFor(lookup(key)), pemOf(key))
  source.start()
  t.teardown(() => source.stop())
  jwks.keys = jwks.keys.slice(1)
  const changedAt = jwks.requests
  // Refreshes never overlap: the second request after the change means the first has been read.
  await eventually(() => jwks.requests >= changedAt + 2, 'a background refresh after the change has completed')
  source.stop()
  const requests = jwks.requests
  await t.rejects(source.keyFor(lookup(key)), unknownKey, 'the withdrawn key is refused as unknown')
  t.ok(jwks.requests <= requests + 1, 'at most the one refetch an unknown kid may cause')
})

test('the same kid under another algorithm is a different key', async (t) => {
  const key = newKey('ES256')
  const jwks = await startJwks(t, [key.jwk])
  const source = createJwksKeySource({ jwksUrl: jwks.url })
  await t.rejects(source.keyFor({ alg: 'EdDSA', kid: key.kid }), unknownKey)
})

test('EdDSA keys are served as Ed25519 public keys', async (t) => {
  const key = newKey('EdDSA')
  const jwks = await startJwks(t, [key.jwk])
  const source = createJwksKeySource({ jwksUrl: jwks.url })
  t.equal(createPublicKey(await source.keyFor(lookup(key))).asymmetricKeyType, 'ed25519')
})
