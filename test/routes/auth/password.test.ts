import { test } from 'tap'
import { changePassword, EMAIL as ADA, loggedIn, login, me, PASSWORD, refresh, signedUp } from '../../helpers/auth.js'
import { build } from '../../helpers/build.js'

const BOB = 'bob@example.com'
const NEW_PASSWORD = 'purple monkey dishwasher'

test('a wrong current password is 401 invalid_credentials and changes nothing', async (t) => {
  const app = await build(t)
  await signedUp(app)
  const current = await loggedIn(app)
  const other = await loggedIn(app)
  const res = await changePassword(app, current.access_token, { current_password: 'not the password', new_password: NEW_PASSWORD })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'invalid_credentials')
  t.notOk(res.headers['www-authenticate'], 'not a token failure')
  t.equal((await login(app, ADA, PASSWORD)).statusCode, 200, 'the old password still works')
  t.equal((await me(app, other.access_token)).statusCode, 200, 'other sessions survive')
})

test('a new password that is too short is 400 invalid_password and changes nothing', async (t) => {
  const app = await build(t)
  await signedUp(app)
  const current = await loggedIn(app)
  const res = await changePassword(app, current.access_token, { current_password: PASSWORD, new_password: 'short' })
  t.equal(res.statusCode, 400)
  t.equal(res.json().code, 'invalid_password')
  t.equal((await login(app, ADA, PASSWORD)).statusCode, 200)
  t.equal((await login(app, ADA, 'short')).statusCode, 401)
})

test('a new password longer than 256 code points is 400 invalid_password', async (t) => {
  const app = await build(t)
  await signedUp(app)
  const current = await loggedIn(app)
  const res = await changePassword(app, current.access_token, { current_password: PASSWORD, new_password: 'x'.repeat(257) })
  t.equal(res.statusCode, 400)
  t.equal(res.json().code, 'invalid_password')
})

test('passwords of the wrong type are 400 invalid_request', async (t) => {
  const app = await build(t)
  await signedUp(app)
  const current = await loggedIn(app)
  for (const payload of [{ current_password: PASSWORD, new_password: 12345678 }, { current_password: null, new_password: NEW_PASSWORD }, { current_password: PASSWORD }]) {
    const res = await changePassword(app, current.access_token, payload)
    t.equal(res.statusCode, 400, JSON.stringify(payload))
    t.equal(res.json().code, 'invalid_request')
  }
})

test('a password change without a token is 401 missing_token', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'POST', url: '/auth/password', payload: { current_password: PASSWORD, new_password: NEW_PASSWORD } })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'missing_token')
})

test('a successful password change answers 204 with an empty body', async (t) => {
  const app = await build(t)
  await signedUp(app)
  const current = await loggedIn(app)
  const res = await changePassword(app, current.access_token, { current_password: PASSWORD, new_password: NEW_PASSWORD })
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
})

test('after a password change the current session keeps working', async (t) => {
  const app = await build(t)
  await signedUp(app)
  const current = await loggedIn(app)
  await loggedIn(app)
  t.equal((await changePassword(app, current.access_token, { current_password: PASSWORD, new_password: NEW_PASSWORD })).statusCode, 204)
  t.equal((await me(app, current.access_token)).statusCode, 200, 'its access token')
  t.equal((await refresh(app, current.refresh_token)).statusCode, 200, 'its refresh token')
})

test('a password change revokes every other session\'s access and refresh tokens', async (t) => {
  const app = await build(t)
  await signedUp(app)
  await signedUp(app, BOB)
  const current = await loggedIn(app)
  const others = [await loggedIn(app), await loggedIn(app)]
  const bob = await loggedIn(app, BOB)
  t.equal((await changePassword(app, current.access_token, { current_password: PASSWORD, new_password: NEW_PASSWORD })).statusCode, 204)
  for (const other of others) {
    const access = await me(app, other.access_token)
    t.equal(access.statusCode, 401)
    t.equal(access.json().code, 'invalid_token')
    const renewed = await refresh(app, other.refresh_token)
    t.equal(renewed.statusCode, 401)
    t.equal(renewed.json().code, 'invalid_grant')
  }
  t.equal((await me(app, bob.access_token)).statusCode, 200, 'another user is untouched')
  t.equal((await refresh(app, bob.refresh_token)).statusCode, 200)
})

test('after a password change only the new password logs in', async (t) => {
  const app = await build(t)
  await signedUp(app)
  const current = await loggedIn(app)
  t.equal((await changePassword(app, current.access_token, { current_password: PASSWORD, new_password: NEW_PASSWORD })).statusCode, 204)
  const old = await login(app, ADA, PASSWORD)
  t.equal(old.statusCode, 401)
  t.equal(old.json().code, 'invalid_credentials')
  t.equal((await login(app, ADA, NEW_PASSWORD)).statusCode, 200)
})

test('a current password outside 8 to 256 characters is 401 invalid_credentials', async (t) => {
  const app = await build(t)
  await signedUp(app)
  const current = await loggedIn(app)
  for (const currentPassword of ['short', 'x'.repeat(300)]) {
    const res = await changePassword(app, current.access_token, { current_password: currentPassword, new_password: NEW_PASSWORD })
    t.equal(res.statusCode, 401)
    t.equal(res.json().code, 'invalid_credentials')
  }
})

test('repeated wrong current passwords are throttled like logins, even before a right one', async (t) => {
  const app = await build(t, { LOGIN_MAX_ATTEMPTS: '2' })
  await signedUp(app)
  const current = await loggedIn(app)
  const hash = async () => (await app.store.db.selectFrom('users').select('password_hash').where('email', '=', ADA).executeTakeFirstOrThrow()).password_hash
  const before = await hash()
  for (let i = 0; i < 2; i++) {
    t.equal((await changePassword(app, current.access_token, { current_password: 'not the password', new_password: NEW_PASSWORD })).statusCode, 401)
  }
  const res = await changePassword(app, current.access_token, { current_password: PASSWORD, new_password: NEW_PASSWORD })
  t.equal(res.statusCode, 429)
  t.equal(res.json().code, 'rate_limited')
  t.ok(Number(res.headers['retry-after']) > 0, 'Retry-After names the wait')
  t.equal(await hash(), before, 'the password was not changed')
})

test('failed logins and wrong current passwords count against one throttle for the address', async (t) => {
  const app = await build(t, { LOGIN_MAX_ATTEMPTS: '2' })
  await signedUp(app)
  const current = await loggedIn(app)
  t.equal((await login(app, ADA, 'not the password')).statusCode, 401)
  t.equal((await changePassword(app, current.access_token, { current_password: 'not the password', new_password: NEW_PASSWORD })).statusCode, 401)
  const res = await login(app, ADA, PASSWORD)
  t.equal(res.statusCode, 429, 'one failure of each kind used up both attempts')
  t.equal(res.json().code, 'rate_limited')
})

test('a successful password change clears the failed attempts counted before it', async (t) => {
  const app = await build(t, { LOGIN_MAX_ATTEMPTS: '2' })
  await signedUp(app)
  const current = await loggedIn(app)
  t.equal((await login(app, ADA, 'not the password')).statusCode, 401)
  t.equal((await changePassword(app, current.access_token, { current_password: PASSWORD, new_password: NEW_PASSWORD })).statusCode, 204)
  t.equal((await login(app, ADA, 'not the password')).statusCode, 401, 'a new failure is the first again, not the second')
  t.equal((await login(app, ADA, NEW_PASSWORD)).statusCode, 200)
})

test('a password change with the token of a deleted user is 401 invalid_token', async (t) => {
  const app = await build(t)
  await signedUp(app)
  const current = await loggedIn(app)
  await app.store.db.deleteFrom('users').where('email', '=', ADA).execute()
  const res = await changePassword(app, current.access_token, { current_password: PASSWORD, new_password: NEW_PASSWORD })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'invalid_token')
})

test('a password change refused for overload is 503 and does not count as a failed attempt', async (t) => {
  const app = await build(t, { ARGON2_MEMORY_COST: '16384', LOGIN_MAX_ATTEMPTS: '1' })
  await signedUp(app)
  const ada = await loggedIn(app)
  // Other emails fill the argon2 queue; the change arrives to find it full.
  const flood = Array.from({ length: 40 }, (_, i) => login(app, `nobody${i}@example.com`, PASSWORD))
  const [change] = await Promise.all([changePassword(app, ada.access_token, { current_password: PASSWORD, new_password: NEW_PASSWORD }), ...flood])
  t.equal(change.statusCode, 503)
  t.equal(change.json().code, 'overloaded')
  const retry = await changePassword(app, ada.access_token, { current_password: PASSWORD, new_password: NEW_PASSWORD })
  t.equal(retry.statusCode, 204, 'the one allowed attempt was not used up by the overload')
})
