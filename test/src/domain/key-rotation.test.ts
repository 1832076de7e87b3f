import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import { test, type Test } from 'tap'
import { KEY_RELOAD_INTERVAL_MS, loadSigningKeys, NEXT_KEY_MIN_AGE_MS, RETIRED_KEY_MARGIN_MS, rotateSigningKeys, type PublicJwk } from '../../../src/domain/keys.js'
import { openStore, type Store } from '../../../src/store/index.js'
import { bearer, loggedIn, me, signedUp } from '../../helpers/auth.js'
import { build } from '../../helpers/build.js'
import { eventually, testClock } from '../../helpers/clock.js'
import { decode, es256, forge, serverHeader, strangerKeys } from '../../helpers/forge.js'
import { logCollector } from '../../helpers/tokens.js'

// These tests rotate keys their apps created a moment ago, so they pass
// `minNextKeyAge: 0`: the verifiers here read the store directly and do not
// cache the JWKS, so the next key need not age before it signs.

/** A store file shared by the apps of one test, and a connection of the test's own to rotate keys through. */
async function sharedStore (t: Test): Promise<{ env: Record<string, string>, store: Store }> {
  const url = 'sqlite:' + join(t.testdir(), 'gatehouse.db')
  const store = await openStore(url)
  t.teardown(() => store.close())
  return { env: { DATABASE_URL: url }, store }
}

async function jwksKids (app: FastifyInstance): Promise<string[]> {
  const res = await app.inject({ url: '/.well-known/jwks.json' })
  return res.json<{ keys: PublicJwk[] }>().keys.map(key => key.kid)
}

/** The contract's refusal of a bad token: 401, code invalid_token, and the RFC 6750 challenge. */
async function assertInvalidToken (t: Test, app: FastifyInstance, token: string): Promise<void> {
  const res = await me(app, token)
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'invalid_token')
  t.match(res.headers['www-authenticate'], /^Bearer realm="gatehouse", error="invalid_token"/)
}

const kidOf = (token: string) => decode(token).header.kid

/** The kid of a freshly issued access token. */
const signingKid = (app: FastifyInstance) => kidOf(app.accessTokens.issue({ userId: 'u', sessionId: 's', roles: [] }, Date.now()).token)

test('a rotated-in key is published as next before it signs, then signs new tokens', async t => {
  const { env, store } = await sharedStore(t)
  const app = await build(t, env)
  await signedUp(app)
  const [active, next] = await jwksKids(app) as [string, string]
  t.equal(kidOf((await loggedIn(app)).access_token), active, 'the active key signs')

  const rotated = await rotateSigningKeys(store.db, { algorithm: 'ES256', minNextKeyAge: 0 })
  t.equal(rotated.active, next, 'the key that signs next was in the JWKS already')
  await app.signingKeys.reload()

  t.equal(kidOf((await loggedIn(app)).access_token), next, 'new tokens carry the new kid')
  t.same(await jwksKids(app), [next, rotated.next, active], 'the JWKS publishes the active, next and retired keys')
})

test('tokens signed by a retired key still verify while it is retired', async t => {
  const { env, store } = await sharedStore(t)
  const app = await build(t, env)
  const user = await signedUp(app)
  const old = await loggedIn(app)

  const { retired } = await rotateSigningKeys(store.db, { algorithm: 'ES256', minNextKeyAge: 0 })
  await app.signingKeys.reload()
  t.same(retired, [kidOf(old.access_token)])
  const res = await me(app, old.access_token)
  t.equal(res.statusCode, 200)
  t.equal(res.json().user.id, user.id)
})

test('once its tokens have all expired a retired key is refused, unpublished and deleted', async t => {
  const { env, store } = await sharedStore(t)
  const app = await build(t, env)
  await signedUp(app)
  const old = await loggedIn(app)
  const oldKid = kidOf(old.access_token) as string

  // A rotation as long ago as the drop time: ACCESS_TOKEN_TTL (900 s) plus the margin.
  await rotateSigningKeys(store.db, { algorithm: 'ES256', now: Date.now() - 900_000 - RETIRED_KEY_MARGIN_MS - 1000, minNextKeyAge: 0 })
  await app.signingKeys.reload()

  await assertInvalidToken(t, app, old.access_token)
  t.notOk((await jwksKids(app)).includes(oldKid), 'gone from the JWKS')
  const row = await store.db.selectFrom('signing_keys').select('kid').where('kid', '=', oldKid).executeTakeFirst()
  t.equal(row, undefined, 'its row, private key included, is deleted')
  t.equal((await me(app, (await loggedIn(app)).access_token)).statusCode, 200, 'tokens of the new key verify')
})

test('an instance verifies a token signed with a key it has not loaded yet', async t => {
  const { env, store } = await sharedStore(t)
  const a = await build(t, env)
  const b = await build(t, env)
  const user = await signedUp(a)

  // Two rotations: the key that signs now was not even the next key when B last read the store.
  await rotateSigningKeys(store.db, { algorithm: 'ES256', minNextKeyAge: 0 })
  const { active } = await rotateSigningKeys(store.db, { algorithm: 'ES256', minNextKeyAge: 0 })
  await a.signingKeys.reload()
  const session = await loggedIn(a)
  t.equal(kidOf(session.access_token), active, 'A signs with the new key')
  t.equal(b.signingKeys.verificationKey(active), undefined, 'B has not loaded it')

  const res = await me(b, session.access_token)
  t.equal(res.statusCode, 200, 'B looks the unknown kid up in the store')
  t.equal(res.json().user.id, user.id)
  t.equal(signingKid(b), active, 'and signs with it too')
})

test('instances sharing a store sign with the rotated-in key after their next periodic reload', async t => {
  const { env, store } = await sharedStore(t)
  const timings = { keyReloadInterval: 20 }
  const apps = [await build(t, env, { timings }), await build(t, env, { timings })]
  const reloads = apps.map(app => app.signingKeys.reloads)
  const { active } = await rotateSigningKeys(store.db, { algorithm: 'ES256', minNextKeyAge: 0 })

  await eventually(() => apps.every((app, i) => app.signingKeys.reloads >= reloads[i]! + 2), 'each app has reloaded twice since the rotation')
  for (const app of apps) t.equal(signingKid(app), active, 'signs with the rotated-in key, no request needed')
})

test('a next key may sign only once every verifier can have fetched it: after a reload and the JWKS max-age', async t => {
  const { env, store } = await sharedStore(t)
  const app = await build(t, env)
  t.equal(app.timings.keyReloadInterval, KEY_RELOAD_INTERVAL_MS, 'a server re-reads its keys every KEY_RELOAD_INTERVAL_MS unless told otherwise')
  const res = await app.inject({ url: '/.well-known/jwks.json' })
  const maxAge = Number(/max-age=(\d+)/.exec(String(res.headers['cache-control']))?.[1])
  t.ok(maxAge > 0, `the JWKS is cached for ${maxAge} s`)
  t.ok(NEXT_KEY_MIN_AGE_MS >= KEY_RELOAD_INTERVAL_MS + maxAge * 1000, `${NEXT_KEY_MIN_AGE_MS} ms covers the reload interval and the max-age`)

  const kid = app.signingKeys.signing.kid
  await t.rejects(rotateSigningKeys(store.db, { algorithm: 'ES256' }), /cannot rotate ES256 signing keys yet/, 'a server that has just started cannot rotate')
  await app.signingKeys.reload()
  t.equal(app.signingKeys.signing.kid, kid, 'and still signs with its key')
})

test('a token whose kid was never published is refused', async t => {
  const app = await build(t)
  await signedUp(app)
  const session = await loggedIn(app)
  const header = { ...serverHeader(app), kid: randomBytes(32).toString('base64url') }
  await assertInvalidToken(t, app, forge(header, decode(session.access_token).payload, es256(strangerKeys.es256())))
})

test('a burst of tokens naming unknown kids costs one store read per second', async t => {
  const clock = testClock()
  // No periodic reload during the test: every store read counted is one an unknown kid caused.
  const app = await build(t, {}, { clock, timings: { keyReloadInterval: 3600_000 } })
  await signedUp(app)
  const { payload } = decode((await loggedIn(app)).access_token)
  const key = strangerKeys.es256()
  const burst = () => Array.from({ length: 50 }, () => forge({ ...serverHeader(app), kid: randomBytes(16).toString('base64url') }, payload, es256(key)))

  const reloads = app.signingKeys.reloads
  const replies = await Promise.all(burst().map(token => me(app, token)))
  t.ok(replies.every(res => res.statusCode === 401 && res.json().code === 'invalid_token'), 'every one is refused')
  t.equal(app.signingKeys.reloads, reloads + 1, 'one store read for 50 tokens')
  clock.advance(999)
  await Promise.all(burst().map(token => me(app, token)))
  t.equal(app.signingKeys.reloads, reloads + 1, 'none more within the second')
  clock.advance(1)
  await Promise.all(burst().map(token => me(app, token)))
  t.equal(app.signingKeys.reloads, reloads + 2, 'one more once it has passed')
})

test('a failing periodic key reload is logged once when it starts failing and once when it works again; the keys loaded before stay in use', async t => {
  const { env, store } = await sharedStore(t)
  const log = logCollector()
  const app = await build(t, env, { logger: { level: 'info', stream: log.stream }, timings: { keyReloadInterval: 10 } })
  await signedUp(app)
  const kid = app.signingKeys.signing.kid
  const messages = () => log.lines.filter(line => /signing key reload/.test(line.msg)).map(line => [line.level, line.msg])

  const saved = await store.db.selectFrom('signing_keys').selectAll().execute()
  await store.db.deleteFrom('signing_keys').execute()
  const failedFrom = app.signingKeys.reloads
  await eventually(() => app.signingKeys.reloads >= failedFrom + 5, 'five reloads have failed')
  t.strictSame(messages(), [[40, 'signing key reload failed; the keys loaded before stay in use']], 'one warning for the whole outage')
  t.ok(log.lines.find(line => line.level === 40)?.err, 'with its error')
  const session = await loggedIn(app)
  t.equal(kidOf(session.access_token), kid, 'the same key still signs')
  t.equal((await app.inject({ url: '/auth/me', headers: bearer(session.access_token) })).statusCode, 200, 'and verifies')

  await store.db.insertInto('signing_keys').values(saved).execute()
  await eventually(() => messages().length === 2, 'the recovery is logged')
  const recoveredAt = app.signingKeys.reloads
  await eventually(() => app.signingKeys.reloads >= recoveredAt + 3, 'three more reloads have worked')
  t.strictSame(messages(), [
    [40, 'signing key reload failed; the keys loaded before stay in use'],
    [30, 'signing key reload works again']
  ], 'and one line when it works again')
  t.equal(app.signingKeys.signing.kid, kid)
})

test('under HS256 rotation is refused and the JWKS stays empty', async t => {
  const app = await build(t, { JWT_ALG: 'HS256', JWT_SECRET: 'a-test-secret-that-is-at-least-32-bytes' })
  await t.rejects(rotateSigningKeys(app.store.db, { algorithm: 'HS256' }), /HS256 has no signing keys to rotate/)
  await app.signingKeys.reload()
  const res = await app.inject({ url: '/.well-known/jwks.json' })
  t.equal(res.statusCode, 200)
  t.strictSame(res.json(), { keys: [] })
})

/*
 * Random sequences of rotations (each retiring the active key some time ago,
 * later rotations more recently) and reloads, checked at every reload against
 * a model of the rules: one active and one next key; a retired key is
 * published and verifies until ACCESS_TOKEN_TTL plus the margin after its
 * retirement, and is then unpublished and deleted from the store.
 */
test('rotations and reloads agree with the key lifecycle model', async t => {
  const TTL = 60
  const keep = TTL * 1000 + RETIRED_KEY_MARGIN_MS
  // The ring's clock stands still, so retirement ages right at the drop time are exact: they are drawn often.
  const age = fc.oneof(fc.integer({ min: 0, max: 3 * keep }), fc.constantFrom(keep - 1, keep, keep + 1))
  const steps = fc.array(fc.record({ age, reload: fc.boolean() }), { minLength: 1, maxLength: 8 })

  const property = fc.asyncProperty(steps, async (rotations) => {
    const store = await openStore('sqlite::memory:')
    try {
      const clock = testClock()
      const keys = await loadSigningKeys(store.db, { algorithm: 'ES256', accessTokenTtl: TTL, clock })
      const start = clock.now()
      const [firstActive, firstNext] = keys.jwks.keys.map(key => key.kid) as [string, string]
      const model = { active: firstActive, next: firstNext, retired: new Map<string, number>(), deleted: new Set<string>() }

      const check = async (when: string) => {
        const cutoff = clock.now() - keep
        for (const [kid, retiredAt] of model.retired) {
          if (retiredAt <= cutoff) { model.retired.delete(kid); model.deleted.add(kid) }
        }
        const published = keys.jwks.keys.map(key => key.kid)
        assert.deepEqual(published.slice(0, 2), [model.active, model.next], `${when}: active then next`)
        assert.deepEqual(new Set(published.slice(2)), new Set(model.retired.keys()), `${when}: the retired keys not yet dropped`)
        assert.equal(keys.signing.kid, model.active, `${when}: the active key signs`)
        for (const kid of model.deleted) assert.equal(keys.verificationKey(kid), undefined, `${when}: dropped ${kid} does not verify`)
        for (const kid of published) assert.equal(typeof keys.verificationKey(kid), 'string', `${when}: published ${kid} verifies`)
        const rows = await store.db.selectFrom('signing_keys').select(['kid', 'state']).execute()
        assert.deepEqual(new Set(rows.map(row => row.kid)), new Set(published), `${when}: the store holds exactly the published keys`)
        assert.deepEqual(rows.map(row => row.state).filter(state => state !== 'retired').sort(), ['active', 'next'])
      }

      const ages = rotations.map(step => step.age).sort((a, b) => b - a)
      for (const [i, step] of rotations.entries()) {
        const retiredAt = start - ages[i]!
        const rotated = await rotateSigningKeys(store.db, { algorithm: 'ES256', now: retiredAt, minNextKeyAge: 0, clock })
        assert.deepEqual(rotated.retired, [model.active])
        assert.equal(rotated.active, model.next, 'the key published as next is the one promoted')
        model.retired.set(model.active, retiredAt)
        model.active = rotated.active
        model.next = rotated.next
        if (step.reload || i === rotations.length - 1) {
          await keys.reload()
          await check(`after rotation ${i}`)
        }
      }
    } finally {
      await store.close()
    }
  })
  // A run that hangs or a search that runs long fails this test by name (with its seed), not the whole suite by tap's timeout.
  await t.resolves(fc.assert(property, { numRuns: 50, plugins: [fc.timeout(10_000), fc.interruptAfterTimeLimit(90_000, { failOnInterrupt: true })] }), 'no counterexample')
})
