import { sql } from 'kysely'
import { test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { signup } from '../../helpers/auth.js'
import { build } from '../../helpers/build.js'

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

async function storedHash (app: FastifyInstance, email: string): Promise<string | undefined> {
  const row = await app.store.db.selectFrom('users').select('password_hash').where('email', '=', email).executeTakeFirst()
  return row?.password_hash
}

test('signup creates an account and answers 201 with exactly {user}', async (t) => {
  const app = await build(t)
  const before = Date.now()
  const res = await signup(app, 'ada@example.com', 'correct horse battery')
  t.equal(res.statusCode, 201)
  t.match(res.headers['content-type'], /^application\/json/)
  const body = res.json()
  t.same(Object.keys(body), ['user'])
  t.same(Object.keys(body.user).sort(), ['created_at', 'email', 'id', 'roles'])
  t.type(body.user.id, 'string')
  t.ok(body.user.id.length > 0)
  t.equal(body.user.email, 'ada@example.com')
  t.same(body.user.roles, ['user'])
  t.match(body.user.created_at, ISO_8601)
  const created = Date.parse(body.user.created_at)
  t.ok(created >= before && created <= Date.now(), 'created_at is the time of signup')
})

test('signup reply contains no password or password hash', async (t) => {
  const app = await build(t)
  const res = await signup(app, 'ada@example.com', 'correct horse battery')
  t.equal(res.statusCode, 201)
  t.notMatch(res.body, /argon2/)
  t.notMatch(res.body, /correct horse battery/)
  t.notMatch(res.body, /password/i)
  const hash = await storedHash(app, 'ada@example.com')
  t.type(hash, 'string')
  t.notOk(res.body.includes(String(hash)))
})

test('the password is stored only as an argon2id hash', async (t) => {
  const app = await build(t)
  await signup(app, 'ada@example.com', 'correct horse battery')
  const hash = await storedHash(app, 'ada@example.com')
  const [, type, version, params] = String(hash).split('$')
  t.equal(type, 'argon2id')
  t.equal(version, 'v=19')
  t.same(String(params).split(',').sort(), ['m=8192', 'p=1', 't=1'])
  t.notMatch(hash, /correct horse battery/)
})

test('emails are trimmed and stored lower-cased', async (t) => {
  const app = await build(t)
  const res = await signup(app, '  Ada.Lovelace@Example.COM \t', 'correct horse battery')
  t.equal(res.statusCode, 201)
  t.equal(res.json().user.email, 'ada.lovelace@example.com')
  t.type(await storedHash(app, 'ada.lovelace@example.com'), 'string')
})

test('signing up twice with one email is 409 email_taken', async (t) => {
  const app = await build(t)
  t.equal((await signup(app, 'ada@example.com', 'correct horse battery')).statusCode, 201)
  const res = await signup(app, 'ada@example.com', 'another password here')
  t.equal(res.statusCode, 409)
  t.same(res.json(), { statusCode: 409, error: 'Conflict', code: 'email_taken', message: 'An account with this email already exists' })
  t.type(res.json().message, 'string')
})

test('the same email differently cased or padded with spaces is email_taken', async (t) => {
  const app = await build(t)
  t.equal((await signup(app, 'ada@example.com', 'correct horse battery')).statusCode, 201)
  for (const variant of ['ADA@EXAMPLE.COM', ' ada@example.com ', '\tAda@Example.Com\n']) {
    const res = await signup(app, variant, 'another password here')
    t.equal(res.statusCode, 409, JSON.stringify(variant))
    t.equal(res.json().code, 'email_taken')
  }
  const count = await app.store.db.selectFrom('users').select(({ fn }) => fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  t.equal(Number(count.n), 1, 'no second account was created')
})

test('an email that differs only in Unicode normalisation is email_taken', async (t) => {
  const app = await build(t)
  const first = await signup(app, 'jose\u0301@example.com', 'correct horse battery')
  t.equal(first.statusCode, 201)
  t.equal(first.json().user.email, 'jos\u00e9@example.com', 'stored in NFC')
  const res = await signup(app, 'jos\u00e9@example.com', 'correct horse battery')
  t.equal(res.statusCode, 409)
  t.equal(res.json().code, 'email_taken')
})

test('concurrent signups for one email create one account', async (t) => {
  const app = await build(t)
  const replies = await Promise.all(Array.from({ length: 5 }, () => signup(app, 'race@example.com', 'correct horse battery')))
  const statuses = replies.map(r => r.statusCode).sort()
  t.same(statuses, [201, 409, 409, 409, 409])
})

test('an address that is not an email is 400 invalid_email', async (t) => {
  const app = await build(t)
  const bad = ['', '   ', 'ada', 'ada@', '@example.com', 'ada@example', 'ada@@example.com', 'a da@example.com',
    'ada@exa mple.com', 'ada@example..com', `${'a'.repeat(250)}@example.com`, 'ada\ud800@example.com']
  for (const email of bad) {
    const res = await signup(app, email, 'correct horse battery')
    t.equal(res.statusCode, 400, JSON.stringify(email))
    t.same(res.json(), { statusCode: 400, error: 'Bad Request', code: 'invalid_email', message: 'The email address is not valid' })
  }
  const count = await app.store.db.selectFrom('users').select(({ fn }) => fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  t.equal(Number(count.n), 0)
})

test('an email of 254 characters is accepted', async (t) => {
  const app = await build(t)
  const email = `${'a'.repeat(242)}@example.com`
  t.equal(email.length, 254)
  t.equal((await signup(app, email, 'correct horse battery')).statusCode, 201)
})

test('passwords of 7 or 257 code points are 400 invalid_password', async (t) => {
  const app = await build(t)
  for (const password of ['a'.repeat(7), 'a'.repeat(257), '', '\u{1F600}'.repeat(7), '\u{1F600}'.repeat(257)]) {
    const res = await signup(app, 'ada@example.com', password)
    t.equal(res.statusCode, 400, `${password.length} code units`)
    t.same(res.json(), { statusCode: 400, error: 'Bad Request', code: 'invalid_password', message: 'The password must be 8 to 256 characters long' })
  }
  t.equal(await storedHash(app, 'ada@example.com'), undefined, 'no account was created')
})

test('passwords of 8 and 256 code points are accepted', async (t) => {
  const app = await build(t)
  t.equal((await signup(app, 'a8@example.com', 'a'.repeat(8))).statusCode, 201)
  t.equal((await signup(app, 'a256@example.com', 'a'.repeat(256))).statusCode, 201)
})

test('password length counts code points, not UTF-16 units', async (t) => {
  const app = await build(t)
  // 8 astral characters are 16 UTF-16 units; 256 of them are 512.
  t.equal((await signup(app, 'e8@example.com', '\u{1F600}'.repeat(8))).statusCode, 201)
  t.equal((await signup(app, 'e256@example.com', '\u{1F600}'.repeat(256))).statusCode, 201)
})

test('password length is counted after NFC normalisation', async (t) => {
  const app = await build(t)
  // 'e' + combining acute is two code points sent, one (U+00E9) after NFC.
  const decomposed = 'e\u0301'
  const cases: Array<[string, number]> = [
    [decomposed.repeat(7), 400], // 14 code points sent, 7 after NFC
    [decomposed.repeat(8), 201], // 16 sent, 8 after NFC
    [decomposed.repeat(256), 201], // 512 sent, 256 after NFC
    [decomposed.repeat(257), 400] // 514 sent, 257 after NFC
  ]
  let n = 0
  for (const [password, status] of cases) {
    const res = await signup(app, `nfc${n++}@example.com`, password)
    t.equal(res.statusCode, status, `${Array.from(password).length} code points sent`)
    if (status === 400) t.equal(res.json().code, 'invalid_password')
  }
})

test('a password with a lone surrogate is refused at signup', async (t) => {
  const app = await build(t)
  for (const password of ['abcdefgh\ud800', '\udc00abcdefgh', 'abcd\ud83dxyzw']) {
    const res = await signup(app, 'ada@example.com', password)
    t.equal(res.statusCode, 400)
    t.equal(res.json().code, 'invalid_password')
  }
  // JSON escapes reach the server as real lone surrogates, too.
  const raw = await app.inject({
    method: 'POST',
    url: '/auth/signup',
    headers: { 'content-type': 'application/json' },
    payload: '{"email":"ada@example.com","password":"abcdefgh\\udfff"}'
  })
  t.equal(raw.statusCode, 400)
  t.equal(raw.json().code, 'invalid_password')
  t.equal(await storedHash(app, 'ada@example.com'), undefined)
})

test('the email is checked before the password', async (t) => {
  const app = await build(t)
  const res = await signup(app, 'nope', 'short')
  t.equal(res.statusCode, 400)
  t.equal(res.json().code, 'invalid_email')
})

test('unknown body fields are ignored at signup', async (t) => {
  const app = await build(t)
  const res = await app.inject({
    method: 'POST',
    url: '/auth/signup',
    payload: { email: 'ada@example.com', password: 'correct horse battery', roles: ['admin'], id: 'chosen', created_at: '1970-01-01T00:00:00.000Z' }
  })
  t.equal(res.statusCode, 201)
  const { user } = res.json()
  t.same(user.roles, ['user'], 'a client cannot choose its roles')
  t.not(user.id, 'chosen')
  t.not(user.created_at, '1970-01-01T00:00:00.000Z')
})

test('user ids are distinct per account', async (t) => {
  const app = await build(t)
  const a = (await signup(app, 'a@example.com', 'correct horse battery')).json().user.id
  const b = (await signup(app, 'b@example.com', 'correct horse battery')).json().user.id
  t.not(a, b)
})

test('a store failure while writing the account is a 500 internal_error that shows nothing internal', async (t) => {
  const app = await build(t)
  // A real SQLite write failure: the insert is aborted by the database itself.
  await sql`CREATE TRIGGER users_refuse BEFORE INSERT ON users BEGIN SELECT RAISE(ABORT, 'disk I/O error at /var/lib/gatehouse.db'); END`.execute(app.store.db)
  const res = await signup(app, 'ada@example.com', 'correct horse battery')
  t.equal(res.statusCode, 500)
  t.same(res.json(), { statusCode: 500, error: 'Internal Server Error', code: 'internal_error', message: 'Something went wrong on our side' })
  t.notMatch(res.body, /disk|sqlite|\/var\/|INSERT/i)
})
