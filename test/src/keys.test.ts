import { createHash } from 'node:crypto'
import t from 'tap'
import { jwkThumbprint, loadSigningKeys } from '../../src/keys.js'
import { openStore } from '../../src/store/index.js'

t.test('HS256 without a secret is refused rather than signing with an empty key', async t => {
  const store = await openStore('sqlite::memory:')
  t.teardown(() => store.close())
  await t.rejects(loadSigningKeys(store.db, { algorithm: 'HS256' }), /secret/)
})

t.test('instances sharing a store sign with the same first key', async t => {
  const store = await openStore('sqlite::memory:')
  t.teardown(() => store.close())
  const first = await loadSigningKeys(store.db, { algorithm: 'ES256' })
  const second = await loadSigningKeys(store.db, { algorithm: 'ES256' })
  t.equal(second.signing.kid, first.signing.kid)
  t.same(second.jwks, first.jwks)
  t.equal(first.jwks.keys.length, 1)
})

t.test('the kid is the RFC 7638 thumbprint of the public key', async t => {
  // The canonical JSON of RFC 7638 §3: required members only, in lexicographic order, no whitespace.
  const canonical = '{"crv":"P-256","kty":"EC","x":"xx","y":"yy"}'
  const expected = createHash('sha256').update(canonical).digest('base64url')
  t.equal(jwkThumbprint({ y: 'yy', x: 'xx', kty: 'EC', crv: 'P-256', d: 'private', use: 'sig' }), expected)
  const okp = createHash('sha256').update('{"crv":"Ed25519","kty":"OKP","x":"xx"}').digest('base64url')
  t.equal(jwkThumbprint({ x: 'xx', kty: 'OKP', crv: 'Ed25519' }), okp)
})
