import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import { test, type Test } from 'tap'
import { bearer, changePassword, EMAIL, login, loggedIn, logout, me, PASSWORD, refresh, signedUp, signup, works } from '../helpers/auth.js'
import { build } from '../helpers/build.js'

// A state change, its audit event and its revocation-feed row commit together or not at all:
// a failing audit or feed write answers 500 and leaves everything as it was.

const NEW_PASSWORD = 'purple monkey dishwasher'

/** Makes every insert into `table` fail from now on, as a full disk or a broken store would. */
async function breakWrites (app: FastifyInstance, table: 'audit_events' | 'revocations') {
  await sql.raw(`create trigger fail_${table} before insert on ${table} begin select raise(abort, 'store write failed in ${table}'); end`).execute(app.store.db)
  return async function repair () {
    await sql.raw(`drop trigger fail_${table}`).execute(app.store.db)
  }
}

function assertInternalError (t: Test, res: { statusCode: number, json: () => unknown }) {
  t.equal(res.statusCode, 500)
  t.same(res.json(), { statusCode: 500, error: 'Internal Server Error', code: 'internal_error', message: 'Something went wrong on our side' }, 'nothing internal in the body')
}

async function count (app: FastifyInstance, table: 'audit_events' | 'revocations' | 'sessions' | 'users') {
  return (await app.store.db.selectFrom(table).select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow()).n
}

for (const table of ['audit_events', 'revocations'] as const) {
  test(`a logout whose ${table} write fails answers 500 and revokes nothing`, async (t) => {
    const app = await build(t)
    await signedUp(app)
    const pair = await loggedIn(app)
    const audited = await count(app, 'audit_events')
    const repair = await breakWrites(app, table)
    assertInternalError(t, await logout(app, pair.access_token, 'global'))
    t.equal(await count(app, 'revocations'), 0, 'no feed row')
    t.equal(await count(app, 'audit_events'), audited, 'no audit row')
    await repair()
    t.same(await works(app, pair), { access: true, refresh: true }, 'the session still works, here and in memory')
  })

  test(`a password change whose ${table} write fails answers 500 and changes nothing`, async (t) => {
    const app = await build(t)
    await signedUp(app)
    const pair = await loggedIn(app)
    const other = await loggedIn(app)
    const repair = await breakWrites(app, table)
    assertInternalError(t, await changePassword(app, pair.access_token, { current_password: PASSWORD, new_password: NEW_PASSWORD }))
    await repair()
    t.equal((await login(app, EMAIL, NEW_PASSWORD)).statusCode, 401, 'the new password does not work')
    t.equal((await login(app, EMAIL, PASSWORD)).statusCode, 200, 'the old one still does')
    t.same(await works(app, other), { access: true, refresh: true }, 'the other session was not revoked')
  })
}

test('a session deletion whose feed write fails answers 500 and the session lives on', async (t) => {
  const app = await build(t)
  await signedUp(app)
  const caller = await loggedIn(app)
  const other = await loggedIn(app)
  const repair = await breakWrites(app, 'revocations')
  const res = await app.inject({ method: 'DELETE', url: `/auth/sessions/${other.sid}`, headers: bearer(caller.access_token) })
  assertInternalError(t, res)
  await repair()
  t.same(await works(app, other), { access: true, refresh: true })
})

test('a signup whose audit write fails answers 500 and creates no account', async (t) => {
  const app = await build(t)
  const repair = await breakWrites(app, 'audit_events')
  assertInternalError(t, await signup(app))
  t.equal(await count(app, 'users'), 0)
  await repair()
  t.equal((await signup(app)).statusCode, 201, 'the address is still free')
})

test('a login whose audit write fails answers 500 and opens no session', async (t) => {
  const app = await build(t)
  await signedUp(app)
  await breakWrites(app, 'audit_events')
  assertInternalError(t, await login(app))
  t.equal(await count(app, 'sessions'), 0)
})

test('a refresh whose audit write fails answers 500 and leaves its token unspent', async (t) => {
  const app = await build(t, { REFRESH_REUSE_INTERVAL: '0' })
  await signedUp(app)
  const pair = await loggedIn(app)
  const repair = await breakWrites(app, 'audit_events')
  assertInternalError(t, await refresh(app, pair.refresh_token))
  await repair()
  const res = await refresh(app, pair.refresh_token)
  t.equal(res.statusCode, 200, 'the same token rotates once the store works: it was never spent')
  t.equal((await me(app, res.json().access_token)).statusCode, 200)
})

test('a detected reuse whose feed write fails answers 500; the reuse is caught on the next try', async (t) => {
  const app = await build(t, { REFRESH_REUSE_INTERVAL: '0' })
  await signedUp(app)
  const pair = await loggedIn(app)
  const next = await refresh(app, pair.refresh_token)
  const repair = await breakWrites(app, 'revocations')
  assertInternalError(t, await refresh(app, pair.refresh_token))
  t.equal(await count(app, 'revocations'), 0)
  await repair()
  t.equal((await refresh(app, pair.refresh_token)).statusCode, 401, 'presented again, it is reuse')
  t.equal((await me(app, next.json().access_token)).statusCode, 401, 'and the session is revoked')
})
