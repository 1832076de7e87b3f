import { test } from 'tap'
import { build } from '../helpers/build.js'
import {
  assertTokenAccepted, assertTokenRefused, assertUnauthorized, b64url, decode, forge, nowSeconds,
  reissue, serverHeader, serverSigner, signupAndLogin, UNKNOWN_KEY_MESSAGE
} from '../helpers/forge.js'

// How `authenticate` reads the Authorization header, and the checks it makes
// on a token signed with the server's own key.

test('a token issued by login is accepted', async (t) => {
  const app = await build(t)
  const { token, userId } = await signupAndLogin(app)
  await assertTokenAccepted(t, app, `Bearer ${token}`, userId)
})

test('the Bearer scheme is case-insensitive', async (t) => {
  const app = await build(t)
  const { token, userId } = await signupAndLogin(app)
  await assertTokenAccepted(t, app, `bearer ${token}`, userId)
  await assertTokenAccepted(t, app, `BEARER ${token}`, userId)
})

test('no Authorization header is missing_token', async (t) => {
  const app = await build(t)
  await assertUnauthorized(t, app, {}, 'missing_token')
})

test('a token only in the access_token query parameter is missing_token', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  await assertUnauthorized(t, app, { url: `/auth/me?access_token=${token}` }, 'missing_token')
})

test('extra whitespace around the token is refused', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  await assertUnauthorized(t, app, { headers: { authorization: `Bearer ${token} ` } })
  await assertUnauthorized(t, app, { headers: { authorization: `Bearer\t${token}` } })
})

test('two spaces after Bearer are refused', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  await assertUnauthorized(t, app, { headers: { authorization: `Bearer  ${token}` } })
})

test('the Basic scheme is refused as invalid_token', async (t) => {
  const app = await build(t)
  await assertUnauthorized(t, app, { headers: { authorization: `Basic ${b64url('ada@example.com:correct horse battery')}` } })
})

test('Bearer with no token is refused', async (t) => {
  const app = await build(t)
  await assertUnauthorized(t, app, { headers: { authorization: 'Bearer' } })
  await assertUnauthorized(t, app, { headers: { authorization: 'Bearer ' } })
})

test('a valid token in padded base64 is refused', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  const padded = token.split('.').map(part => part + '='.repeat((4 - part.length % 4) % 4)).join('.')
  t.not(padded, token, 'at least one part needs padding')
  await assertTokenRefused(t, app, padded)
})

test('a valid token with only its signature padded is refused', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  t.equal(token.split('.')[2]?.length, 86, 'a 64-byte ES256 signature needs two padding characters')
  await assertTokenRefused(t, app, `${token}==`)
})

test('a tampered payload with the original signature is refused', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  const other = await signupAndLogin(app, 'eve@example.com')
  const [header, , signature] = token.split('.')
  const payload = { ...decode(token).payload, sub: other.userId }
  await assertTokenRefused(t, app, `${header}.${b64url(JSON.stringify(payload))}.${signature}`)
})

test('a tampered signature is refused', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  const [header, payload, signature = ''] = token.split('.')
  const bytes = Buffer.from(signature, 'base64url')
  bytes[0] = (bytes[0] ?? 0) ^ 0x01
  await assertTokenRefused(t, app, `${header}.${payload}.${bytes.toString('base64url')}`)
})

test('an expired token is refused', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  const now = nowSeconds()
  await assertTokenRefused(t, app, reissue(app, token, { iat: now - 1000, exp: now - 100 }))
})

test('a token whose nbf is in the future is refused', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  await assertTokenRefused(t, app, reissue(app, token, { nbf: nowSeconds() + 3600 }))
})

test('a token issued a year in the future is refused', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  const iat = nowSeconds() + 365 * 24 * 3600
  await assertTokenRefused(t, app, reissue(app, token, { iat, exp: iat + 900 }))
})

test('a token that expires before it was issued is refused', async (t) => {
  // iat and exp are both within the clock tolerance, so only their order refuses it.
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  const now = nowSeconds()
  await assertTokenRefused(t, app, reissue(app, token, { iat: now + 1, exp: now }))
})

test('the server refuses its own token from exp on, allowing at most a second of clock difference', async (t) => {
  // The app's clock: the real time (which signs the tokens) until the test sets one.
  let time: number | undefined
  const app = await build(t, {}, { clock: { now: () => time ?? Date.now() } })
  const { token, userId } = await signupAndLogin(app)
  const unseen = (await signupAndLogin(app, 'eve@example.com')).token
  const { exp } = decode(token).payload as { exp: number }
  await assertTokenAccepted(t, app, `Bearer ${token}`, userId)
  time = exp * 1000 - 1
  await assertTokenAccepted(t, app, `Bearer ${token}`, userId)
  time = exp * 1000 + 1_000
  await assertTokenRefused(t, app, token)
  // A token never presented before: no remembered verdict, the same limit.
  time = (decode(unseen).payload as { exp: number }).exp * 1000 + 1_000
  await assertTokenRefused(t, app, unseen)
})

test('request.jwtVerify() in a route refuses what authenticate refuses, with the same reply', async (t) => {
  const app = await build(t, {}, {
    setup: app => {
      app.get('/test/verify', async (request) => ({ sub: (await request.jwtVerify<{ sub: string }>()).sub }))
      app.get('/test/authenticate', { onRequest: app.authenticate }, async (request) => ({ sub: request.user.sub }))
    }
  })
  const { token, userId, email } = await signupAndLogin(app)
  const login = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: 'correct horse battery' } })
  const revoked: string = login.json().access_token
  const ok = await app.inject({ url: '/test/verify', headers: { authorization: `Bearer ${revoked}` } })
  t.strictSame(ok.json(), { sub: userId }, 'accepted before its session is revoked')
  // The logout's check verifies it a second time, so it is remembered when its session is revoked.
  const logout = await app.inject({ method: 'POST', url: '/auth/logout', headers: { authorization: `Bearer ${revoked}` } })
  t.equal(logout.statusCode, 204)

  const cases: Array<[string, Record<string, string>]> = [
    ['a revoked session\'s token', { authorization: `Bearer ${revoked}` }],
    ['no token', {}],
    ['a malformed header', { authorization: `Bearer  ${token}` }],
    ['an expired token', { authorization: `Bearer ${reissue(app, token, { iat: nowSeconds() - 1000, exp: nowSeconds() - 100 })}` }],
    ['an unknown kid', { authorization: `Bearer ${reissue(app, token, {}, { ...serverHeader(app), kid: 'no-such-key' })}` }]
  ]
  for (const [what, headers] of cases) {
    const verified = await app.inject({ url: '/test/verify', headers })
    const guarded = await app.inject({ url: '/test/authenticate', headers })
    t.equal(verified.statusCode, 401, `${what}: 401`)
    t.equal(verified.statusCode, guarded.statusCode, `${what}: authenticate's status`)
    t.strictSame(verified.json(), guarded.json(), `${what}: authenticate's body`)
    t.equal(verified.headers['www-authenticate'], guarded.headers['www-authenticate'], `${what}: authenticate's challenge`)
  }
  const refused = await app.inject({ url: '/test/verify', headers: { authorization: `Bearer ${revoked}` } })
  t.strictSame(refused.json(), { statusCode: 401, error: 'Unauthorized', code: 'invalid_token', message: 'The access token has been revoked' })
  t.equal(refused.headers['www-authenticate'], 'Bearer realm="gatehouse", error="invalid_token", error_description="The access token has been revoked"')
  t.strictSame((await app.inject({ url: '/test/verify', headers: { authorization: `Bearer ${token}` } })).json(), { sub: userId }, 'the other session is not affected')
})

test('a token from another issuer is refused', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  await assertTokenRefused(t, app, reissue(app, token, { iss: 'someone-else' }))
})

test('a token for another audience is refused', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  await assertTokenRefused(t, app, reissue(app, token, { aud: 'another-service' }))
})

test('a token with typ JWT instead of at+jwt is refused', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  await assertTokenRefused(t, app, reissue(app, token, {}, { ...serverHeader(app), typ: 'JWT' }))
})

test('a token without typ is refused', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  const { typ, ...header } = serverHeader(app)
  t.equal(typ, 'at+jwt')
  await assertTokenRefused(t, app, reissue(app, token, {}, header))
})

test('a token naming an unknown kid is refused', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  await assertTokenRefused(t, app, reissue(app, token, {}, { ...serverHeader(app), kid: 'no-such-key' }), UNKNOWN_KEY_MESSAGE)
})

test('a token without kid is refused', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  const { kid, ...header } = serverHeader(app)
  t.type(kid, 'string')
  await assertTokenRefused(t, app, reissue(app, token, {}, header), UNKNOWN_KEY_MESSAGE)
})

test('a token whose kid is not a string is refused', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  await assertTokenRefused(t, app, reissue(app, token, {}, { ...serverHeader(app), kid: 42 }), UNKNOWN_KEY_MESSAGE)
})

test('a token re-signed with the server key and unchanged claims is accepted', async (t) => {
  // The control for the forged cases: the forging itself yields valid tokens.
  const app = await build(t)
  const { token, userId } = await signupAndLogin(app)
  await assertTokenAccepted(t, app, `Bearer ${forge(serverHeader(app), decode(token).payload, serverSigner(app))}`, userId)
})

test('GET / greets a guest when there is no token', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'GET', url: '/' })
  t.equal(res.statusCode, 200)
  t.strictSame(res.json(), { message: 'Hello, guest!' })
})

test('GET / greets the bearer of a valid token by email', async (t) => {
  const app = await build(t)
  const { token, email } = await signupAndLogin(app)
  const res = await app.inject({ method: 'GET', url: '/', headers: { authorization: `Bearer ${token}` } })
  t.equal(res.statusCode, 200)
  t.strictSame(res.json(), { message: `Hello, ${email}!` })
})

test('GET / refuses a token that is present but invalid', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  await assertUnauthorized(t, app, { url: '/', headers: { authorization: `Bearer ${token.slice(0, -4)}AAAA` } })
  await assertUnauthorized(t, app, { url: '/', headers: { authorization: 'Bearer' } })
})

test('a validly signed token for a user that does not exist is refused', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  const orphan = reissue(app, token, { sub: 'no-such-user' })
  await assertTokenRefused(t, app, orphan)
  await assertUnauthorized(t, app, { url: '/', headers: { authorization: `Bearer ${orphan}` } })
})
