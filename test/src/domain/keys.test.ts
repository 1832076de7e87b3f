import { createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import {
  jwkThumbprint, loadSigningKeys, NEXT_KEY_MIN_AGE_MS, RETIRED_KEY_MARGIN_MS, rotateSigningKeys, UNKNOWN_KID_RELOAD_GAP_MS, type SigningKeys
} from '../../../src/domain/keys.js'
import { openStore, type Db, type Store } from '../../../src/store/index.js'
import { testClock } from '../../helpers/clock.js'

const TTL = 900
const SECRET = 'a-test-secret-that-is-at-least-32-bytes'

/** A store on a fresh SQLite file, closed when the test ends; `connections` opens that many connections to it. */
async function sharedStore (t: Test, connections = 1): Promise<Store[]> {
  const url = 'sqlite:' + join(t.testdir(), 'gatehouse.db')
  const stores: Store[] = []
  for (let i = 0; i < connections; i++) stores.push(await openStore(url))
  t.teardown(() => Promise.all(stores.map(store => store.close())))
  return stores
}

async function memoryStore (t: Test): Promise<Db> {
  const store = await openStore('sqlite::memory:')
  t.teardown(() => store.close())
  return store.db
}

// Tests that rotate keys created a moment ago pass `minNextKeyAge: 0`: no
// verifier caches these stores' JWKS, so the next key need not age first.

const keyRows = (db: Db) => db.selectFrom('signing_keys').select(['kid', 'state', 'retired_at']).orderBy('created_at').orderBy('kid').execute()
const kids = (keys: SigningKeys) => keys.jwks.keys.map(key => key.kid)

t.test('HS256 without a secret is refused rather than signing with an empty key', async t => {
  const db = await memoryStore(t)
  await t.rejects(loadSigningKeys(db, { algorithm: 'HS256', accessTokenTtl: TTL }), /secret/)
})

t.test('instances sharing a store sign with the same active key and publish the same keys', async t => {
  const [a, b] = await sharedStore(t, 2) as [Store, Store]
  const first = await loadSigningKeys(a.db, { algorithm: 'ES256', accessTokenTtl: TTL })
  const second = await loadSigningKeys(b.db, { algorithm: 'ES256', accessTokenTtl: TTL })
  t.equal(second.signing.kid, first.signing.kid)
  t.same(second.jwks, first.jwks)
  t.equal(first.jwks.keys.length, 2, 'the active key and the next one')
  t.equal(first.jwks.keys[0]?.kid, first.signing.kid, 'the signing key is listed first')
  t.same((await keyRows(a.db)).map(row => row.state).sort(), ['active', 'next'])
})

t.test('instances starting at once on one store add exactly one active and one next key', async t => {
  const stores = await sharedStore(t, 4)
  const rings = await Promise.all(stores.map(store => loadSigningKeys(store.db, { algorithm: 'ES256', accessTokenTtl: TTL })))
  t.same((await keyRows(stores[0]!.db)).map(row => row.state).sort(), ['active', 'next'])
  for (const ring of rings) {
    t.equal(ring.signing.kid, rings[0]!.signing.kid)
    t.same(kids(ring), kids(rings[0]!))
  }
})

t.test('a store holding only an active key gains a next key at start, and keeps signing with the active one', async t => {
  const db = await memoryStore(t)
  const before = await loadSigningKeys(db, { algorithm: 'ES256', accessTokenTtl: TTL })
  // What a version without rotation left behind: one active key.
  await db.deleteFrom('signing_keys').where('state', '=', 'next').execute()
  const after = await loadSigningKeys(db, { algorithm: 'ES256', accessTokenTtl: TTL })
  t.equal(after.signing.kid, before.signing.kid)
  t.equal(after.jwks.keys.length, 2)
  t.not(after.jwks.keys[1]?.kid, before.jwks.keys[1]?.kid, 'a fresh next key')
})

t.test('the kid is the RFC 7638 thumbprint of the public key', async t => {
  // The canonical JSON of RFC 7638 §3: required members only, in lexicographic order, no whitespace.
  const canonical = '{"crv":"P-256","kty":"EC","x":"xx","y":"yy"}'
  const expected = createHash('sha256').update(canonical).digest('base64url')
  t.equal(jwkThumbprint({ y: 'yy', x: 'xx', kty: 'EC', crv: 'P-256', d: 'private', use: 'sig' }), expected)
  const okp = createHash('sha256').update('{"crv":"Ed25519","kty":"OKP","x":"xx"}').digest('base64url')
  t.equal(jwkThumbprint({ x: 'xx', kty: 'OKP', crv: 'Ed25519' }), okp)
})

t.test('rotation retires the active key, promotes the published next key and publishes a fresh next key', async t => {
  for (const algorithm of ['ES256', 'EdDSA'] as const) {
    const db = await memoryStore(t)
    const keys = await loadSigningKeys(db, { algorithm, accessTokenTtl: TTL })
    const [active, next] = kids(keys) as [string, string]
    const now = Date.now()

    const rotated = await rotateSigningKeys(db, { algorithm, now, minNextKeyAge: 0 })
    t.equal(rotated.active, next, `${algorithm}: the key published as next signs now`)
    t.same(rotated.retired, [active])
    t.notOk([active, next].includes(rotated.next), 'a fresh next key')
    t.equal(keys.signing.kid, active, 'nothing changes in a running ring before it reloads')

    await keys.reload()
    t.equal(keys.signing.kid, next)
    t.same(kids(keys), [next, rotated.next, active], 'active, next, then the retired key')
    t.type(keys.verificationKey(active), 'string', 'the retired key still verifies')
    const byKid = (a: { kid: string }, b: { kid: string }) => a.kid.localeCompare(b.kid)
    t.same((await keyRows(db)).sort(byKid), [
      { kid: active, state: 'retired', retired_at: now },
      { kid: next, state: 'active', retired_at: null },
      { kid: rotated.next, state: 'next', retired_at: null }
    ].sort(byKid))
  }
})

t.test('rotation without a time retires the active key now', async t => {
  const db = await memoryStore(t)
  await loadSigningKeys(db, { algorithm: 'ES256', accessTokenTtl: TTL })
  const before = Date.now()
  const { retired } = await rotateSigningKeys(db, { algorithm: 'ES256', minNextKeyAge: 0 })
  const row = (await keyRows(db)).find(row => row.kid === retired[0])
  t.ok(row?.retired_at !== undefined && row.retired_at !== null && row.retired_at >= before && row.retired_at <= Date.now())
})

t.test('rotation without a time retires the active key at the time of the clock it is given', async t => {
  const db = await memoryStore(t)
  const clock = testClock(1_800_000_000_000)
  await loadSigningKeys(db, { algorithm: 'ES256', accessTokenTtl: TTL, clock })
  clock.advance(NEXT_KEY_MIN_AGE_MS)
  const { retired, next } = await rotateSigningKeys(db, { algorithm: 'ES256', clock })
  const rows = await db.selectFrom('signing_keys').select(['kid', 'retired_at', 'created_at']).execute()
  t.equal(rows.find(row => row.kid === retired[0])?.retired_at, clock.now(), 'retired now')
  t.equal(rows.find(row => row.kid === next)?.created_at, clock.now(), 'the fresh next key is created now')
})

t.test('a retired key is published until ACCESS_TOKEN_TTL plus the margin after its retirement, to the millisecond', async t => {
  const db = await memoryStore(t)
  const clock = testClock()
  const keys = await loadSigningKeys(db, { algorithm: 'ES256', accessTokenTtl: TTL, clock })
  const { retired: [old] } = await rotateSigningKeys(db, { algorithm: 'ES256', minNextKeyAge: 0, clock })
  clock.advance(TTL * 1000 + RETIRED_KEY_MARGIN_MS - 1)
  await keys.reload()
  t.type(keys.verificationKey(old as string), 'string', 'a millisecond before, it still verifies')
  clock.advance(1)
  await keys.reload()
  t.equal(keys.verificationKey(old as string), undefined, 'then it is dropped')
  t.notOk((await keyRows(db)).some(row => row.kid === old), 'and deleted')
})

t.test('a retired key is dropped, with its private key, once every token it signed has expired', async t => {
  const db = await memoryStore(t)
  const keys = await loadSigningKeys(db, { algorithm: 'ES256', accessTokenTtl: TTL })
  const keepFor = TTL * 1000 + RETIRED_KEY_MARGIN_MS
  // The first rotation happened just long enough ago, the second not quite.
  const long = await rotateSigningKeys(db, { algorithm: 'ES256', now: Date.now() - keepFor - 1000, minNextKeyAge: 0 })
  const recent = await rotateSigningKeys(db, { algorithm: 'ES256', now: Date.now() - keepFor + 30_000, minNextKeyAge: 0 })

  await keys.reload()
  const dropped = long.retired[0] as string
  const kept = recent.retired[0] as string
  t.notOk(kids(keys).includes(dropped), 'no longer published')
  t.equal(keys.verificationKey(dropped), undefined, 'no longer verifies')
  t.notOk((await keyRows(db)).some(row => row.kid === dropped), 'its row is deleted')
  t.ok(kids(keys).includes(kept), 'a key retired more recently is still published')
  t.type(keys.verificationKey(kept), 'string')
  t.same((await keyRows(db)).map(row => row.state).sort(), ['active', 'next', 'retired'])
})

t.test('a ring finds a key rotated in elsewhere by re-reading the store for its unknown kid', async t => {
  const [a, b] = await sharedStore(t, 2) as [Store, Store]
  const keys = await loadSigningKeys(a.db, { algorithm: 'ES256', accessTokenTtl: TTL })
  await rotateSigningKeys(b.db, { algorithm: 'ES256', minNextKeyAge: 0 })
  const { active } = await rotateSigningKeys(b.db, { algorithm: 'ES256', minNextKeyAge: 0 })
  t.equal(keys.verificationKey(active), undefined, 'never loaded by this ring')
  const reloads = keys.reloads
  t.type(await keys.lookup(active), 'string')
  t.equal(keys.reloads, reloads + 1, 'one store read')
  t.equal(keys.signing.kid, active, 'and the ring now signs with it')
  t.type(await keys.lookup(active), 'string')
  t.equal(keys.reloads, reloads + 1, 'a known kid costs no store read')
})

t.test('unknown kids re-read the store at most once per second', async t => {
  const db = await memoryStore(t)
  const clock = testClock()
  const keys = await loadSigningKeys(db, { algorithm: 'ES256', accessTokenTtl: TTL, clock })
  const reloads = keys.reloads
  const found = await Promise.all(Array.from({ length: 100 }, () => keys.lookup(randomBytes(16).toString('base64url'))))
  t.ok(found.every(key => key === undefined), 'no made-up kid is found')
  t.equal(keys.reloads, reloads + 1, 'the first unknown kid re-reads the store, the other 99 do not')

  clock.advance(UNKNOWN_KID_RELOAD_GAP_MS - 1)
  t.equal(await keys.lookup('still-unknown'), undefined)
  t.equal(keys.reloads, reloads + 1, 'not before the gap has passed')
  clock.advance(1)
  t.equal(await keys.lookup('still-unknown'), undefined)
  t.equal(keys.reloads, reloads + 2, 'once the gap has passed an unknown kid re-reads the store again')
})

t.test('a reload that finds no active key fails and the keys in use stay', async t => {
  const db = await memoryStore(t)
  const keys = await loadSigningKeys(db, { algorithm: 'ES256', accessTokenTtl: TTL })
  const { kid } = keys.signing
  const published = kids(keys)
  await db.deleteFrom('signing_keys').execute()
  await t.rejects(keys.reload(), /no active ES256 signing key/)
  t.equal(keys.signing.kid, kid)
  t.same(kids(keys), published)
  t.type(keys.verificationKey(kid), 'string')
})

/** Makes every key in the store look published `ms` ago. */
const ageKeys = (db: Db, ms: number) => db.updateTable('signing_keys').set({ created_at: Date.now() - ms }).execute()

t.test('rotation refuses a next key younger than NEXT_KEY_MIN_AGE_MS and promotes one that old', async t => {
  const db = await memoryStore(t)
  await loadSigningKeys(db, { algorithm: 'ES256', accessTokenTtl: TTL })
  const before = await keyRows(db)
  await t.rejects(rotateSigningKeys(db, { algorithm: 'ES256' }), /cannot rotate ES256 signing keys yet: the next key was published \d+ ms ago.*rotate again at or after \d{4}-\d\d-\d\dT/)
  t.same(await keyRows(db), before, 'nothing changes')

  await ageKeys(db, NEXT_KEY_MIN_AGE_MS - 5000)
  await t.rejects(rotateSigningKeys(db, { algorithm: 'ES256' }), /yet/, 'five seconds short of the minimum')
  await ageKeys(db, NEXT_KEY_MIN_AGE_MS + 1000)
  const rotated = await rotateSigningKeys(db, { algorithm: 'ES256' })
  t.equal(rotated.active, before.find(row => row.state === 'next')?.kid)
})

t.test('a second rotation right after the first is refused and changes nothing', async t => {
  const db = await memoryStore(t)
  const keys = await loadSigningKeys(db, { algorithm: 'EdDSA', accessTokenTtl: TTL })
  await ageKeys(db, NEXT_KEY_MIN_AGE_MS + 1000)
  const first = await rotateSigningKeys(db, { algorithm: 'EdDSA' })
  const after = await keyRows(db)

  await t.rejects(rotateSigningKeys(db, { algorithm: 'EdDSA' }), { message: new RegExp(`cannot rotate EdDSA signing keys yet.* ${NEXT_KEY_MIN_AGE_MS} ms`) })
  t.same(await keyRows(db), after, 'the store is as the first rotation left it')
  await keys.reload()
  t.equal(keys.signing.kid, first.active, 'the key the first rotation promoted signs')
  t.same(kids(keys).slice(0, 2), [first.active, first.next], 'and the next key it published is still next')
})

t.test('of two rotations at once on one store exactly one succeeds', async t => {
  const db = await memoryStore(t)
  await loadSigningKeys(db, { algorithm: 'ES256', accessTokenTtl: TTL })
  await ageKeys(db, NEXT_KEY_MIN_AGE_MS + 1000)
  const [next] = (await keyRows(db)).filter(row => row.state === 'next')

  const results = await Promise.allSettled([rotateSigningKeys(db, { algorithm: 'ES256' }), rotateSigningKeys(db, { algorithm: 'ES256' })])
  const done = results.flatMap(result => result.status === 'fulfilled' ? [result.value] : [])
  const refused = results.flatMap(result => result.status === 'rejected' ? [result.reason as Error] : [])
  t.equal(done.length, 1, 'one rotation')
  t.match(refused.map(error => error.message), [/cannot rotate ES256 signing keys yet/])
  t.equal(done[0]?.active, next?.kid, 'promoting the next key that had aged')
  const states = (await keyRows(db)).map(row => row.state).sort()
  t.same(states, ['active', 'next', 'retired'], 'one retired key, not two')
})

t.test('rotation of an algorithm the store has no active key of is refused and creates no keys', async t => {
  const db = await memoryStore(t)
  await t.rejects(rotateSigningKeys(db, { algorithm: 'ES256', minNextKeyAge: 0 }), {
    message: 'cannot rotate ES256 signing keys: the store has no active ES256 key; it holds no active signing key (a server starting on it with this algorithm creates its keys)'
  })
  t.same(await keyRows(db), [], 'an empty store stays empty')

  const keys = await loadSigningKeys(db, { algorithm: 'EdDSA', accessTokenTtl: TTL })
  const before = await keyRows(db)
  await t.rejects(rotateSigningKeys(db, { algorithm: 'ES256', minNextKeyAge: 0 }), {
    message: 'cannot rotate ES256 signing keys: the store has no active ES256 key; it holds active keys of EdDSA only; rotate with the algorithm the servers sign with (JWT_ALG)'
  })
  t.same(await keyRows(db), before, 'no ES256 keys are created and the EdDSA keys are untouched')
  await keys.reload()
  t.equal(keys.signing.kid, before.find(row => row.state === 'active')?.kid, 'the EdDSA key still signs')
})

t.test('rotation of a store without a next key is refused: it does not create one and promote it at once', async t => {
  const db = await memoryStore(t)
  await loadSigningKeys(db, { algorithm: 'ES256', accessTokenTtl: TTL })
  await db.deleteFrom('signing_keys').where('state', '=', 'next').execute()
  const before = await keyRows(db)
  await t.rejects(rotateSigningKeys(db, { algorithm: 'ES256', minNextKeyAge: 0 }), /cannot rotate ES256 signing keys: the store has no next ES256 key to promote/)
  t.same(await keyRows(db), before, 'the active key is not retired')
})

t.test('a negative or non-numeric minNextKeyAge is refused', async t => {
  const db = await memoryStore(t)
  await loadSigningKeys(db, { algorithm: 'ES256', accessTokenTtl: TTL })
  await ageKeys(db, NEXT_KEY_MIN_AGE_MS + 1000)
  const before = await keyRows(db)
  for (const minNextKeyAge of [-1, Number.NaN, Infinity]) {
    await t.rejects(rotateSigningKeys(db, { algorithm: 'ES256', minNextKeyAge }), { name: 'RangeError', message: /minNextKeyAge must be a number of milliseconds >= 0/ })
  }
  t.same(await keyRows(db), before)
})

t.test('HS256 keys cannot be rotated, and its ring has nothing to reload', async t => {
  const db = await memoryStore(t)
  await t.rejects(rotateSigningKeys(db, { algorithm: 'HS256' }), /HS256 has no signing keys to rotate/)
  const keys = await loadSigningKeys(db, { algorithm: 'HS256', secret: SECRET, accessTokenTtl: TTL })
  await keys.reload()
  t.same(keys.jwks, { keys: [] })
  t.equal(await keys.lookup(keys.signing.kid), SECRET)
  t.equal(await keys.lookup('another-kid'), undefined)
  t.equal(keys.reloads, 0, 'the store is never read')
  t.same(await keyRows(db), [], 'and no key rows are written')
})
