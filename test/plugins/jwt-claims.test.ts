import { test } from 'tap'
import { build } from '../helpers/build.js'
import { assertTokenAccepted, assertTokenRefused, decode, forge, reissue, serverHeader, serverSigner, signupAndLogin } from '../helpers/forge.js'

// Tokens correctly signed with the server's key whose claims break the
// RFC 9068 profile: every one is refused as invalid_token, never a 500.

for (const claim of ['sub', 'sid', 'jti', 'exp', 'iat', 'roles', 'iss', 'aud']) {
  test(`a token without ${claim} is refused`, async (t) => {
    const app = await build(t)
    const { token } = await signupAndLogin(app)
    t.ok(claim in decode(token).payload, `issued tokens carry ${claim}`)
    await assertTokenRefused(t, app, reissue(app, token, { [claim]: undefined }))
  })
}

test('a token whose exp is a numeric string is refused', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  await assertTokenRefused(t, app, reissue(app, token, { exp: '9999999999' }))
})

test('a token whose roles is not an array is refused', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  await assertTokenRefused(t, app, reissue(app, token, { roles: 'admin' }))
})

test('a token whose roles holds a non-string is refused', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  await assertTokenRefused(t, app, reissue(app, token, { roles: ['user', 1] }))
})

test('a token whose sub is not a string is refused', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  await assertTokenRefused(t, app, reissue(app, token, { sub: 123 }))
})

test('a token whose sub is empty is refused', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  await assertTokenRefused(t, app, reissue(app, token, { sub: '' }))
})

test('a token whose payload is a JSON array is refused', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  await assertTokenRefused(t, app, forge(serverHeader(app), [decode(token).payload], serverSigner(app)))
})

test('a token whose payload is not JSON is refused', async (t) => {
  const app = await build(t)
  await assertTokenRefused(t, app, forge(serverHeader(app), { raw: 'sub=1;exp=9999999999' }, serverSigner(app)))
})

test('a token whose header is not JSON is refused', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  await assertTokenRefused(t, app, forge({ raw: 'alg=ES256' }, decode(token).payload, serverSigner(app)))
})

test('a token whose header is JSON but not an object is refused', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  for (const header of ['null', '42', '"ES256"']) {
    await assertTokenRefused(t, app, forge({ raw: header }, decode(token).payload, serverSigner(app)))
  }
})

test('a token with a critical header extension the server does not know is refused', async (t) => {
  const app = await build(t)
  const { token } = await signupAndLogin(app)
  await assertTokenRefused(t, app, reissue(app, token, {}, { ...serverHeader(app), crit: ['x-policy'], 'x-policy': 1 }))
})

test('a token whose audience list includes the server is accepted', async (t) => {
  // RFC 7519 §4.1.3: aud may be an array; one match is enough.
  const app = await build(t)
  const { token, userId } = await signupAndLogin(app)
  await assertTokenAccepted(t, app, `Bearer ${reissue(app, token, { aud: ['other-service', 'gatehouse'] })}`, userId)
})
