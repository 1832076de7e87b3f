import { createPublicKey, generateKeyPairSync, type JsonWebKey } from 'node:crypto'
import Fastify from 'fastify'
import { test, type Test } from 'tap'
import gatehouse, { type GatehouseOptions } from '../../../src/verify/index.js'
import { build } from '../../helpers/build.js'
import { es256, forge, hs256, unsigned } from '../../helpers/forge.js'
import { accessClaims, bearer, newKey, resourceApp, signAccessToken, type AsymmetricAlg } from '../../helpers/tokens.js'

// The `secret` and `publicKey` options: one key, configured in the app, no JWKS.

const SECRET = 'an HS256 secret of at least 32 bytes!'

async function registerFails (t: Test, options: GatehouseOptions, message: RegExp) {
  const app = Fastify()
  t.teardown(() => app.close())
  await t.rejects(async () => { await app.register(gatehouse, options).ready() }, message)
}

test('a secret string verifies HS256 tokens signed with it', async (t) => {
  const app = await resourceApp(t, { secret: SECRET })
  const res = await app.inject({ url: '/orders', headers: bearer(signAccessToken({ alg: 'HS256', secret: SECRET }, { sub: 'user-3' })) })
  t.equal(res.statusCode, 200)
  t.equal(res.json<{ sub: string }>().sub, 'user-3')
  t.equal((await app.inject({ url: '/verify', headers: bearer(signAccessToken({ alg: 'HS256', secret: SECRET })) })).statusCode, 200, 'request.jwtVerify() too')
})

test('a secret Buffer verifies HS256 tokens signed with those bytes', async (t) => {
  const secret = Buffer.alloc(32, 7)
  const app = await resourceApp(t, { secret })
  t.equal((await app.inject({ url: '/orders', headers: bearer(signAccessToken({ alg: 'HS256', secret })) })).statusCode, 200)
  t.equal((await app.inject({ url: '/orders', headers: bearer(signAccessToken({ alg: 'HS256', secret: Buffer.alloc(32, 8) })) })).statusCode, 401, 'another secret is refused')
})

test('with a secret, tokens of other algorithms or none are refused', async (t) => {
  const app = await resourceApp(t, { secret: SECRET })
  const key = newKey()
  for (const token of [
    signAccessToken(key),
    forge({ alg: 'none', typ: 'at+jwt', kid: 'k' }, accessClaims(), unsigned),
    forge({ alg: 'HS384', typ: 'at+jwt', kid: 'k' }, accessClaims(), hs256(SECRET))
  ]) {
    const res = await app.inject({ url: '/orders', headers: bearer(token) })
    t.equal(res.statusCode, 401)
    t.equal(res.json<{ code: string }>().code, 'invalid_token')
  }
})

test('a secret shorter than 32 bytes is refused at register', async (t) => {
  await registerFails(t, { secret: 'x'.repeat(31) }, /secret must be at least 32 bytes/)
  await registerFails(t, { secret: Buffer.alloc(31) }, /secret must be at least 32 bytes/)
  await registerFails(t, { secret: '' }, /secret must be at least 32 bytes/)
})

function publicKeyForms (alg: AsymmetricAlg) {
  const key = newKey(alg)
  const pem = key.publicKey.export({ type: 'spki', format: 'pem' }).toString()
  const forms: Array<[string, NonNullable<GatehouseOptions['publicKey']>]> = [
    ['PEM string', pem],
    ['PEM Buffer', Buffer.from(pem)],
    ['JWK', key.publicKey.export({ format: 'jwk' })],
    ['KeyObject', key.publicKey],
    ['private KeyObject (its public half is used)', key.privateKey]
  ]
  return { key, pem, forms }
}

for (const alg of ['ES256', 'EdDSA'] as const) {
  test(`an ${alg} publicKey as PEM, JWK or KeyObject verifies ${alg} tokens and nothing else`, async (t) => {
    const { key, forms } = publicKeyForms(alg)
    for (const [form, publicKey] of forms) {
      const app = await resourceApp(t, { publicKey })
      const ok = await app.inject({ url: '/orders', headers: bearer(signAccessToken(key, { sub: form })) })
      t.equal(ok.statusCode, 200, form)
      t.equal(ok.json<{ sub: string }>().sub, form)
      const stranger = await app.inject({ url: '/orders', headers: bearer(signAccessToken({ ...newKey(alg), kid: key.kid })) })
      t.equal(stranger.statusCode, 401, `${form}: another key's token`)
    }
  })

  test(`an HS256 token MACed with the ${alg} public key is refused`, async (t) => {
    const { key, pem, forms } = publicKeyForms(alg)
    const app = await resourceApp(t, { publicKey: forms[0]?.[1] ?? pem })
    for (const secret of [pem, Buffer.from(pem), JSON.stringify(key.jwk)]) {
      const token = forge({ alg: 'HS256', typ: 'at+jwt', kid: key.kid }, accessClaims(), hs256(secret))
      const res = await app.inject({ url: '/orders', headers: bearer(token) })
      t.equal(res.statusCode, 401)
      t.equal(res.json<{ code: string }>().code, 'invalid_token')
      t.equal((await app.inject({ url: '/verify', headers: bearer(token) })).statusCode, 401, 'request.jwtVerify() refuses it too')
    }
  })
}

test('a publicKey needs no kid to match: any kid string names the one key', async (t) => {
  const key = newKey('ES256')
  const app = await resourceApp(t, { publicKey: key.publicKey })
  t.equal((await app.inject({ url: '/orders', headers: bearer(signAccessToken({ ...key, kid: 'whatever' })) })).statusCode, 200)
  const noKid = forge({ alg: 'ES256', typ: 'at+jwt' }, accessClaims(), es256(key.privateKey))
  t.equal((await app.inject({ url: '/orders', headers: bearer(noKid) })).statusCode, 401, 'but a token must still carry a kid')
})

test('an ES256 publicKey refuses EdDSA tokens, and algorithms cannot widen it', async (t) => {
  const es = newKey('ES256')
  const app = await resourceApp(t, { publicKey: es.publicKey })
  t.equal((await app.inject({ url: '/orders', headers: bearer(signAccessToken(newKey('EdDSA'))) })).statusCode, 401)
  await registerFails(t, { publicKey: es.publicKey, algorithms: ['ES256', 'EdDSA'] }, /algorithms must be chosen from ES256 for this key/)
  await registerFails(t, { publicKey: es.publicKey, algorithms: ['HS256'] }, /algorithms must be chosen from ES256/)
})

test('RSA, other curves and symmetric keys are refused as publicKey', async (t) => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey
  const x25519 = generateKeyPairSync('x25519').publicKey
  for (const publicKey of [rsa, rsa.export({ type: 'spki', format: 'pem' }).toString(), rsa.export({ format: 'jwk' }), p384, x25519]) {
    await registerFails(t, { publicKey }, /publicKey must be an EC P-256 \(ES256\) or Ed25519 \(EdDSA\) key/)
  }
})

test('a publicKey that is not a key at all is refused at register', async (t) => {
  const garbage: Array<NonNullable<GatehouseOptions['publicKey']>> = [
    'not a pem',
    Buffer.from('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'),
    { kty: 'EC', crv: 'P-256', x: 'AAAA' } as JsonWebKey,
    { kty: 'oct', k: Buffer.from(SECRET).toString('base64url') } as JsonWebKey
  ]
  for (const publicKey of garbage) {
    await registerFails(t, { publicKey }, /publicKey is not a PEM, JWK or KeyObject public key/)
  }
})

test('the JWK a Gatehouse server publishes, given as publicKey, verifies its tokens', async (t) => {
  const server = await build(t, { JWT_ALG: 'EdDSA' })
  const jwk = (await server.inject({ url: '/.well-known/jwks.json' })).json<{ keys: JsonWebKey[] }>().keys[0] as JsonWebKey
  const app = await resourceApp(t, { publicKey: createPublicKey({ key: jwk, format: 'jwk' }) })
  await server.inject({ method: 'POST', url: '/auth/signup', payload: { email: 'ada@example.com', password: 'correct horse battery' } })
  const login = await server.inject({ method: 'POST', url: '/auth/login', payload: { email: 'ada@example.com', password: 'correct horse battery' } })
  const res = await app.inject({ url: '/orders', headers: bearer(login.json<{ access_token: string }>().access_token) })
  t.equal(res.statusCode, 200)
})

test('the secret a Gatehouse server signs HS256 tokens with, given as secret, verifies them', async (t) => {
  const server = await build(t, { JWT_ALG: 'HS256', JWT_SECRET: SECRET })
  const app = await resourceApp(t, { secret: SECRET })
  await server.inject({ method: 'POST', url: '/auth/signup', payload: { email: 'ada@example.com', password: 'correct horse battery' } })
  const login = await server.inject({ method: 'POST', url: '/auth/login', payload: { email: 'ada@example.com', password: 'correct horse battery' } })
  t.equal((await app.inject({ url: '/orders', headers: bearer(login.json<{ access_token: string }>().access_token) })).statusCode, 200)
})
