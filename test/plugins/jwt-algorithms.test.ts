import { createPublicKey, type JsonWebKey } from 'node:crypto'
import { test } from 'tap'
import { build } from '../helpers/build.js'
import {
  assertTokenAccepted, assertTokenRefused, decode, eddsa, es256, forge, hs256, rs256,
  serverHeader, signupAndLogin, strangerKeys, unsigned, UNKNOWN_KEY_MESSAGE
} from '../helpers/forge.js'

// The algorithm allow-list: only the configured algorithm verifies, with the
// key the server picks by kid, never a key or algorithm the token chooses.

const HS256_ENV = { JWT_ALG: 'HS256', JWT_SECRET: 'a-test-secret-that-is-at-least-32-bytes-long' }

test('an ES256 server refuses an HS256 token', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  const header = { ...serverHeader(app), alg: 'HS256' }
  await assertTokenRefused(t, app, forge(header, decode(token).payload, hs256('a-test-secret-that-is-at-least-32-bytes-long')))
})

test('an ES256 server refuses an EdDSA token', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  const header = { ...serverHeader(app), alg: 'EdDSA' }
  await assertTokenRefused(t, app, forge(header, decode(token).payload, eddsa(strangerKeys.eddsa())))
})

test('an ES256 server refuses an RS256 token', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  const header = { ...serverHeader(app), alg: 'RS256' }
  await assertTokenRefused(t, app, forge(header, decode(token).payload, rs256(strangerKeys.rs256())))
})

test('an ES256 token signed by a key the server does not hold is refused', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  await assertTokenRefused(t, app, forge(serverHeader(app), decode(token).payload, es256(strangerKeys.es256())))
})

test('a token that embeds its own public key in a jwk header is refused', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  const attacker = strangerKeys.es256()
  const header = { ...serverHeader(app), jwk: createPublicKey(attacker).export({ format: 'jwk' }) }
  await assertTokenRefused(t, app, forge(header, decode(token).payload, es256(attacker)))
})

test('alg none without a signature is refused', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  const header = { ...serverHeader(app), alg: 'none' }
  await assertTokenRefused(t, app, forge(header, decode(token).payload, unsigned))
})

test('alg none with the original signature left on is refused', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  const header = { ...serverHeader(app), alg: 'none' }
  await assertTokenRefused(t, app, forge(header, decode(token).payload, () => decode(token).signature))
})

test('an HS256 token keyed with the server public key PEM is refused', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  const jwks = (await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json<{ keys: JsonWebKey[] }>()
  const jwk = jwks.keys[0]
  t.ok(jwk, 'the JWKS publishes a key')
  const pem = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString()
  const header = { ...serverHeader(app), alg: 'HS256' }
  await assertTokenRefused(t, app, forge(header, decode(token).payload, hs256(pem)))
})

test('an HS256 token keyed with the server public JWK JSON is refused', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  const res = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  const jwk = res.json<{ keys: JsonWebKey[] }>().keys[0]
  const header = { ...serverHeader(app), alg: 'HS256' }
  await assertTokenRefused(t, app, forge(header, decode(token).payload, hs256(JSON.stringify(jwk))))
})

test('HS256 mode publishes no keys', async (t) => {
  const app = await build(t, HS256_ENV)
  const res = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  t.equal(res.statusCode, 200)
  t.strictSame(res.json(), { keys: [] })
})

test('HS256 mode accepts the tokens its login issues', async (t) => {
  const app = await build(t, HS256_ENV)
  const { token, userId } = await signupAndLogin(app)
  t.equal(decode(token).header.alg, 'HS256')
  await assertTokenAccepted(t, app, `Bearer ${token}`, userId)
})

test('HS256 mode refuses a token signed with a different secret', async (t) => {
  const app = await build(t, HS256_ENV)
  const { token } = await signupAndLogin(app)
  const forged = forge(serverHeader(app), decode(token).payload, hs256('another-secret-that-is-also-32-bytes-long'))
  await assertTokenRefused(t, app, forged)
})

test('HS256 mode refuses a token naming an unknown kid', async (t) => {
  const app = await build(t, HS256_ENV)
  const { token } = await signupAndLogin(app)
  const header = { ...serverHeader(app), kid: 'no-such-key' }
  await assertTokenRefused(t, app, forge(header, decode(token).payload, hs256(HS256_ENV.JWT_SECRET)), UNKNOWN_KEY_MESSAGE)
})

test('HS256 mode refuses an ES256 token', async (t) => {
  const app = await build(t, HS256_ENV)
  const { token } = await signupAndLogin(app)
  const header = { ...serverHeader(app), alg: 'ES256' }
  await assertTokenRefused(t, app, forge(header, decode(token).payload, es256(strangerKeys.es256())))
})

test('EdDSA mode publishes an Ed25519 key', async (t) => {
  const app = await build(t, { JWT_ALG: 'EdDSA' })
  const res = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  const { keys } = res.json<{ keys: Array<Record<string, unknown>> }>()
  t.equal(keys.length, 2, 'the active key and the next one')
  t.match(keys[0], { kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: app.signingKeys.signing.kid, x: String })
  t.match(keys[1], { kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', x: String })
  t.notOk(keys.some(key => 'd' in key), 'no private part')
})

test('EdDSA mode accepts the tokens its login issues', async (t) => {
  const app = await build(t, { JWT_ALG: 'EdDSA' })
  const { token, userId } = await signupAndLogin(app)
  t.equal(decode(token).header.alg, 'EdDSA')
  await assertTokenAccepted(t, app, `Bearer ${token}`, userId)
})

test('EdDSA mode refuses an ES256 token', async (t) => {
  const app = await build(t, { JWT_ALG: 'EdDSA' })
  const { token } = await signupAndLogin(app)
  const header = { ...serverHeader(app), alg: 'ES256' }
  await assertTokenRefused(t, app, forge(header, decode(token).payload, es256(strangerKeys.es256())))
})
