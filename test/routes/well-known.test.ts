import { createHash, createPublicKey, verify } from 'node:crypto'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { test } from 'tap'
import { build } from '../helpers/build.js'

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']

interface Jwk { kty: string, crv?: string, x?: string, y?: string, kid: string, alg: string, use: string, [member: string]: unknown }

async function jwks (app: FastifyInstance): Promise<Jwk[]> {
  const res = await app.inject({ url: '/.well-known/jwks.json' })
  if (res.statusCode !== 200) throw new Error(`jwks: ${res.statusCode}`)
  return res.json().keys
}

async function accessToken (app: FastifyInstance): Promise<string> {
  const credentials = { email: 'ada@example.com', password: 'correct horse battery' }
  await app.inject({ method: 'POST', url: '/auth/signup', payload: credentials })
  return (await app.inject({ method: 'POST', url: '/auth/login', payload: credentials })).json().access_token
}

test('the JWKS publishes EC P-256 public keys with kid, alg ES256 and use sig', async (t) => {
  const app = await build(t)
  const res = await app.inject({ url: '/.well-known/jwks.json' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  const body = res.json()
  t.same(Object.keys(body), ['keys'])
  t.ok(body.keys.length >= 1)
  for (const key of body.keys as Jwk[]) {
    t.same(Object.keys(key).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'])
    t.equal(key.kty, 'EC')
    t.equal(key.crv, 'P-256')
    t.equal(key.alg, 'ES256')
    t.equal(key.use, 'sig')
    t.match(key.kid, /^[A-Za-z0-9_-]+$/)
    t.match(key.x, /^[A-Za-z0-9_-]{43}$/)
    t.match(key.y, /^[A-Za-z0-9_-]{43}$/)
  }
})

test('the JWKS has no private key members', async (t) => {
  const app = await build(t)
  for (const alg of ['ES256', 'EdDSA']) {
    const other = alg === 'ES256' ? app : await build(t, { JWT_ALG: alg })
    const res = await other.inject({ url: '/.well-known/jwks.json' })
    for (const key of res.json().keys as Jwk[]) {
      for (const member of PRIVATE_MEMBERS) t.notOk(member in key, `${alg} key has no "${member}"`)
      t.equal(createPublicKey({ key, format: 'jwk' }).type, 'public', 'the JWK imports as a public key')
    }
  }
})

test('each kid is the RFC 7638 thumbprint of its key', async (t) => {
  const app = await build(t)
  for (const key of await jwks(app)) {
    const canonical = JSON.stringify({ crv: key.crv, kty: key.kty, x: key.x, y: key.y })
    t.equal(key.kid, createHash('sha256').update(canonical).digest('base64url'))
  }
})

test('a published key verifies the access tokens the server issues', async (t) => {
  const app = await build(t)
  const token = await accessToken(app)
  const [header, payload, signature] = token.split('.') as [string, string, string]
  const { kid, alg } = JSON.parse(Buffer.from(header, 'base64url').toString())
  t.equal(alg, 'ES256')
  const key = (await jwks(app)).find(k => k.kid === kid)
  t.ok(key, 'the token names a published kid')
  const ok = verify('sha256', Buffer.from(`${header}.${payload}`), { key: createPublicKey({ key: key as Jwk, format: 'jwk' }), dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'))
  t.ok(ok, 'the signature checks out against the JWKS key')
})

test('under EdDSA the JWKS publishes OKP Ed25519 keys', async (t) => {
  const app = await build(t, { JWT_ALG: 'EdDSA' })
  const keys = await jwks(app)
  t.ok(keys.length >= 1)
  for (const key of keys) {
    t.same(Object.keys(key).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x'])
    t.match(key, { kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' })
  }
})

test('under HS256 the JWKS is empty and never shows the secret', async (t) => {
  const secret = 's'.repeat(16) + 'e'.repeat(16) + 'cret'
  const app = await build(t, { JWT_ALG: 'HS256', JWT_SECRET: secret })
  const res = await app.inject({ url: '/.well-known/jwks.json' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { keys: [] })
  t.notOk(res.body.includes(secret))
  t.notOk(res.body.includes(Buffer.from(secret).toString('base64url')))
})

test('the JWKS may be cached briefly by clients', async (t) => {
  const app = await build(t)
  const res = await app.inject({ url: '/.well-known/jwks.json' })
  t.equal(res.headers['cache-control'], 'public, max-age=60')
})

test('instances sharing a store publish the same keys', async (t) => {
  const env = { DATABASE_URL: `sqlite:${join(t.testdir(), 'x.db')}` }
  const first = await build(t, env)
  const second = await build(t, env)
  t.same(await jwks(second), await jwks(first))
  const keys = await jwks(first)
  t.equal(keys.length, 2, 'the active key and the next one')
  t.equal(keys[0]?.kid, first.signingKeys.signing.kid, 'the active key first')
})

test('the JWKS needs no credentials and is not subject to the /auth rate limit', async (t) => {
  const app = await build(t, { RATE_LIMIT_MAX: '1' })
  for (let i = 0; i < 3; i++) t.equal((await app.inject({ url: '/.well-known/jwks.json' })).statusCode, 200)
})
