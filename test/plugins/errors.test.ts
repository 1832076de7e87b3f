import { STATUS_CODES } from 'node:http'
import { Writable } from 'node:stream'
import type { FastifyError, FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { test } from 'tap'
import { toErrorBody } from '../../src/verify/error-reply.js'
import { InvalidEmailError, RateLimitedError } from '../../src/server/http-errors.js'
import { build } from '../helpers/build.js'

// The `t` of a test callback (the last overload of `test` takes only the callback).
type Test = Parameters<Parameters<typeof test>[0]>[0]

const EMAIL = 'ada@example.com'
const PASSWORD = 'correct horse battery'

// Things that must never reach a client: library and parser internals, stacks, file paths.
const INTERNALS = [/SyntaxError/, /JSON\.parse/, /FST_/, /FAST_JWT/, /Unexpected (token|end)/i, /\bat .+:\d+:\d+/,
  /node_modules/, /\/work\//, /\.(ts|js):\d+/, /"stack"/, /secure-json-parse|ajv|kysely|sqlite|argon2/i, /prototype/i]

/** The contract's error shape, the right status and code, and nothing internal or echoed. */
function assertContractError (t: Test, res: LightMyRequestResponse, status: number, code: string, secret?: string) {
  t.equal(res.statusCode, status, `status ${status}`)
  t.match(res.headers['content-type'], /^application\/json/)
  const body = res.json()
  t.same(Object.keys(body).sort(), ['code', 'error', 'message', 'statusCode'])
  t.equal(body.statusCode, status)
  t.equal(body.error, STATUS_CODES[status])
  t.equal(body.code, code)
  t.type(body.message, 'string')
  for (const pattern of INTERNALS) t.notMatch(res.body, pattern, `no ${pattern}`)
  if (secret !== undefined) t.notOk(res.body.includes(secret), 'the body text is not echoed')
}

function post (app: FastifyInstance, url: string, payload: string | object, headers: InjectOptions['headers'] = {}) {
  return app.inject({ method: 'POST', url, payload, headers })
}

function postJson (app: FastifyInstance, url: string, raw: string) {
  return post(app, url, raw, { 'content-type': 'application/json' })
}

async function withUser (t: Test, env: Record<string, string> = {}) {
  const app = await build(t, env)
  const res = await post(app, '/auth/signup', { email: EMAIL, password: PASSWORD })
  t.equal(res.statusCode, 201)
  return app
}

test('a text/plain body is 415 unsupported_media_type', async (t) => {
  const app = await build(t)
  for (const url of ['/auth/signup', '/auth/login']) {
    const res = await post(app, url, 'email=ada@example.com&password=hunter2hunter2', { 'content-type': 'text/plain' })
    assertContractError(t, res, 415, 'unsupported_media_type', 'hunter2')
  }
})

test('form bodies are 415 unsupported_media_type', async (t) => {
  const app = await build(t)
  const urlencoded = await post(app, '/auth/signup', 'email=ada%40example.com&password=hunter2hunter2', { 'content-type': 'application/x-www-form-urlencoded' })
  assertContractError(t, urlencoded, 415, 'unsupported_media_type', 'hunter2')
  const multipart = await post(app, '/auth/login',
    '--x\r\nContent-Disposition: form-data; name="password"\r\n\r\nhunter2hunter2\r\n--x--\r\n',
    { 'content-type': 'multipart/form-data; boundary=x' })
  assertContractError(t, multipart, 415, 'unsupported_media_type', 'hunter2')
})

test('other media types and a body without a content type are 415', async (t) => {
  const app = await build(t)
  for (const type of ['application/xml', 'application/jsonx', 'text/json', 'application/octet-stream']) {
    const res = await post(app, '/auth/signup', JSON.stringify({ email: EMAIL, password: PASSWORD }), { 'content-type': type })
    assertContractError(t, res, 415, 'unsupported_media_type')
  }
  const untyped = await post(app, '/auth/signup', JSON.stringify({ email: EMAIL, password: PASSWORD }), { 'content-type': undefined })
  assertContractError(t, untyped, 415, 'unsupported_media_type')
})

test('application/json with a charset parameter is accepted', async (t) => {
  const app = await build(t)
  const res = await post(app, '/auth/signup', JSON.stringify({ email: EMAIL, password: PASSWORD }), { 'content-type': 'application/json; charset=utf-8' })
  t.equal(res.statusCode, 201)
})

test('a body over 16 KiB is 413 payload_too_large', async (t) => {
  const app = await build(t)
  const payload = JSON.stringify({ email: EMAIL, password: PASSWORD, padding: 'x'.repeat(16 * 1024) })
  for (const url of ['/auth/signup', '/auth/login']) {
    assertContractError(t, await postJson(app, url, payload), 413, 'payload_too_large')
  }
  t.equal((await postJson(app, '/auth/login', JSON.stringify({ email: EMAIL, password: PASSWORD }))).statusCode, 401, 'no account was created')
})

test('a body just under 16 KiB with unknown fields is accepted', async (t) => {
  const app = await build(t)
  const base = JSON.stringify({ email: EMAIL, password: PASSWORD, padding: '' })
  const payload = JSON.stringify({ email: EMAIL, password: PASSWORD, padding: 'x'.repeat(16 * 1024 - base.length) })
  t.equal(Buffer.byteLength(payload), 16 * 1024)
  t.equal((await postJson(app, '/auth/signup', payload)).statusCode, 201)
})

test('a Content-Length that does not match the body is 400 invalid_request', async (t) => {
  const app = await build(t)
  const payload = JSON.stringify({ email: EMAIL, password: PASSWORD })
  const res = await post(app, '/auth/signup', payload, { 'content-type': 'application/json', 'content-length': String(payload.length - 5) })
  assertContractError(t, res, 400, 'invalid_request', PASSWORD)
})

test('invalid JSON is 400 invalid_request and the message does not quote the body', async (t) => {
  const app = await build(t)
  const broken = ['{"password":"hunter2hunter2"', '{"password":"hunter2hunter2",}', "{'password':'hunter2hunter2'}",
    '{"password":hunter2hunter2}', 'hunter2hunter2', '{"email":"a@b.c","password":"hunter2hunter2"}}']
  for (const url of ['/auth/signup', '/auth/login']) {
    for (const raw of broken) assertContractError(t, await postJson(app, url, raw), 400, 'invalid_request', 'hunter2')
  }
})

test('a password that is not a string is 400 invalid_request', async (t) => {
  const app = await build(t)
  const values: unknown[] = [['hunter2hunter2'], 12345678, 1234567890123, { value: 'hunter2hunter2' }, null, true, false]
  for (const url of ['/auth/signup', '/auth/login']) {
    for (const password of values) {
      const res = await postJson(app, url, JSON.stringify({ email: EMAIL, password }))
      assertContractError(t, res, 400, 'invalid_request', 'hunter2')
      t.match(res.json().message, /password/, 'the message names the field')
    }
  }
})

test('an email that is not a string is 400 invalid_request', async (t) => {
  const app = await build(t)
  for (const email of [[EMAIL], 42, { address: EMAIL }, null, true]) {
    assertContractError(t, await postJson(app, '/auth/signup', JSON.stringify({ email, password: PASSWORD })), 400, 'invalid_request')
  }
})

test('a missing email or password is 400 invalid_request', async (t) => {
  const app = await build(t)
  for (const url of ['/auth/signup', '/auth/login']) {
    for (const body of [{ password: PASSWORD }, { email: EMAIL }, {}]) {
      const res = await postJson(app, url, JSON.stringify(body))
      assertContractError(t, res, 400, 'invalid_request', PASSWORD)
      t.match(res.json().message, /email|password/)
    }
  }
})

test('a JSON body that is not an object is 400 invalid_request', async (t) => {
  const app = await build(t)
  for (const raw of ['[]', '"ada@example.com"', '42', 'null', 'true', `[${JSON.stringify({ email: EMAIL, password: PASSWORD })}]`]) {
    assertContractError(t, await postJson(app, '/auth/signup', raw), 400, 'invalid_request')
  }
})

test('an empty JSON body is 400 on signup and login', async (t) => {
  const app = await build(t)
  for (const url of ['/auth/signup', '/auth/login']) {
    assertContractError(t, await postJson(app, url, ''), 400, 'invalid_request')
    assertContractError(t, await app.inject({ method: 'POST', url }), 400, 'invalid_request')
  }
})

test('__proto__ and constructor.prototype keys are 400 and pollute nothing', async (t) => {
  const app = await build(t)
  const poisoned = [
    `{"email":"${EMAIL}","password":"${PASSWORD}","__proto__":{"roles":["admin"],"polluted":true}}`,
    `{"email":"${EMAIL}","password":"${PASSWORD}","constructor":{"prototype":{"roles":["admin"],"polluted":true}}}`,
    `{"email":"${EMAIL}","password":"${PASSWORD}","nested":{"__proto__":{"polluted":true}}}`
  ]
  for (const url of ['/auth/signup', '/auth/login']) {
    for (const raw of poisoned) assertContractError(t, await postJson(app, url, raw), 400, 'invalid_request')
  }
  t.equal(({} as Record<string, unknown>).polluted, undefined)
  const count = await app.store.db.selectFrom('users').select(({ fn }) => fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  t.equal(Number(count.n), 0, 'no account was created')
})

test('unknown body fields are ignored at login', async (t) => {
  const app = await withUser(t)
  const res = await post(app, '/auth/login', { email: EMAIL, password: PASSWORD, grant_type: 'password', scope: 'admin', remember: true })
  t.equal(res.statusCode, 200)
  t.same(res.json().user.roles, ['user'])
})

test('an unknown path is 404 not_found', async (t) => {
  const app = await build(t)
  for (const url of ['/nope', '/auth', '/auth/', '/auth/unknown', '/auth/login/extra', '/.well-known/', '/health/x', '/nope?x=1']) {
    const res = await app.inject({ url })
    assertContractError(t, res, 404, 'not_found')
    t.notOk(res.headers.allow)
  }
  assertContractError(t, await post(app, '/nope', { email: EMAIL }), 404, 'not_found')
})

test('a known path asked with another method is 405 method_not_allowed with Allow', async (t) => {
  const app = await build(t)
  const cases: Array<[InjectOptions['method'], string, string]> = [
    ['GET', '/auth/login', 'POST'],
    ['GET', '/auth/login?x=1', 'POST'],
    ['PUT', '/auth/signup', 'POST'],
    ['DELETE', '/auth/me', 'GET'],
    ['POST', '/health', 'GET'],
    ['POST', '/.well-known/jwks.json', 'GET'],
    ['PATCH', '/', 'GET'],
    ['POST', '/docs/json', 'GET']
  ]
  for (const [method, url, expected] of cases) {
    const res = await app.inject({ method, url })
    assertContractError(t, res, 405, 'method_not_allowed')
    const allow = String(res.headers.allow).split(/,\s*/)
    t.ok(allow.includes(expected), `${method} ${url}: Allow ${res.headers.allow} includes ${expected}`)
    t.notOk(allow.includes(String(method)), 'Allow does not list the refused method')
  }
})

test('no bad input ever gets a 500', async (t) => {
  const app = await build(t)
  const bodies = ['', ' ', '{', '}', '[', '{"email":', '\u0000', '{"email":"\\ud800","password":"\\udfffabcdefgh"}',
    '{"email":"a@b.co","password":"' + 'x'.repeat(300) + '"}', '{"email":"' + '@'.repeat(500) + '","password":"abcdefghij"}',
    '{"email":"a@b.co","password":"abcdefgh","email":"c@d.co"}', '1e999', '{"email":{},"password":[]}']
  for (const url of ['/auth/signup', '/auth/login']) {
    for (const raw of bodies) {
      const res = await postJson(app, url, raw)
      t.ok(res.statusCode < 500, `${url} ${JSON.stringify(raw.slice(0, 30))} -> ${res.statusCode}`)
      if (res.statusCode >= 400) t.type(res.json().code, 'string')
    }
  }
})

test('after bad input, previously stored users still log in', async (t) => {
  const app = await withUser(t)
  await postJson(app, '/auth/signup', '{"email":"ada@example.com","password":')
  await post(app, '/auth/signup', { email: EMAIL, password: 12345678 })
  await post(app, '/auth/login', { email: EMAIL, password: null })
  await post(app, '/auth/signup', 'x'.repeat(20_000), { 'content-type': 'application/json' })
  await postJson(app, '/auth/signup', `{"email":"${EMAIL}","password":"x","__proto__":{}}`)
  await post(app, '/auth/signup', { email: ' ADA@example.com ', password: 'another password' })
  const res = await post(app, '/auth/login', { email: EMAIL, password: PASSWORD })
  t.equal(res.statusCode, 200)
  t.equal(res.json().user.email, EMAIL)
})

test('5xx errors are logged with their detail while the client sees only a generic message', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(String(chunk)); done() } })
  const app = await build(t, {}, {
    logger: { level: 'info', stream },
    setup: (instance) => {
      instance.get('/test/boom', async () => { throw new Error('SELECT password_hash FROM users at /work/main/src/users.ts:1:1') })
    }
  })
  const res = await app.inject({ url: '/test/boom' })
  assertContractError(t, res, 500, 'internal_error')
  t.equal(res.json().message, 'Something went wrong on our side')
  const logged = lines.map(line => JSON.parse(line)).find(entry => entry.msg === 'request failed')
  t.equal(logged?.level, 50, 'logged at error level')
  t.match(logged?.err?.message, /SELECT password_hash/, 'the detail goes to the log')
})

test('4xx errors thrown with internal detail are reworded', async (t) => {
  const app = await build(t, {}, {
    setup: (instance) => {
      instance.get('/test/teapot', async () => { throw Object.assign(new Error('kysely: SELECT * FROM users'), { statusCode: 400 }) })
      instance.get('/test/sensible', async () => { throw instance.httpErrors.forbidden('sqlite said no') })
    }
  })
  const res = await app.inject({ url: '/test/teapot' })
  assertContractError(t, res, 400, 'invalid_request')
  t.equal(res.json().message, 'The request is invalid')
  const sensible = await app.inject({ url: '/test/sensible' })
  assertContractError(t, sensible, 403, 'forbidden')
  t.equal(sensible.headers['www-authenticate'], 'Bearer realm="gatehouse", error="insufficient_scope"')
})

// toErrorBody, the mapping behind every error reply.

function fastifyError (fields: Partial<FastifyError> & { message?: string }): FastifyError {
  return Object.assign(new Error(fields.message ?? 'internal detail'), fields) as FastifyError
}

test('a 4xx error without a contract code gets the code of its status', async (t) => {
  const cases: Array<[number, string]> = [[400, 'invalid_request'], [401, 'invalid_token'], [403, 'forbidden'], [404, 'not_found'],
    [405, 'method_not_allowed'], [413, 'payload_too_large'], [415, 'unsupported_media_type'], [429, 'rate_limited'], [418, 'invalid_request']]
  for (const [statusCode, code] of cases) {
    const body = toErrorBody(fastifyError({ statusCode, code: 'SOME_LIBRARY_CODE' }))
    t.same(body, { statusCode, error: STATUS_CODES[statusCode], code, message: statusCode === 400 ? 'The request is invalid' : STATUS_CODES[statusCode] })
  }
})

test('a 4xx status without a standard name still gets a safe message', async (t) => {
  t.same(toErrorBody(fastifyError({ statusCode: 499 })), { statusCode: 499, error: 'Error', code: 'invalid_request', message: 'Request failed' })
})

test('contract errors keep their status, code and message', async (t) => {
  t.same(toErrorBody(new InvalidEmailError() as FastifyError), { statusCode: 400, error: 'Bad Request', code: 'invalid_email', message: 'The email address is not valid' })
  t.same(toErrorBody(new RateLimitedError(7) as FastifyError), { statusCode: 429, error: 'Too Many Requests', code: 'rate_limited', message: 'Too many requests; retry after 7 seconds' })
})

test('a contract code without a status, or a 5xx status, is a generic 500', async (t) => {
  const internal = { statusCode: 500, error: 'Internal Server Error', code: 'internal_error', message: 'Something went wrong on our side' }
  t.same(toErrorBody(fastifyError({ code: 'not_found' })), internal)
  t.same(toErrorBody(fastifyError({ statusCode: 502 })), internal)
  t.same(toErrorBody(fastifyError({ statusCode: 302 })), internal)
  t.same(toErrorBody(fastifyError({})), internal)
})

test('validation errors name the failing field and never echo its value', async (t) => {
  const base = { keyword: 'type', schemaPath: '#/type', params: {} }
  t.same(toErrorBody(fastifyError({ validation: [{ ...base, instancePath: '/password', message: 'must be string' }], validationContext: 'body' })),
    { statusCode: 400, error: 'Bad Request', code: 'invalid_request', message: 'body/password must be string' })
  t.same(toErrorBody(fastifyError({ validation: [{ ...base, instancePath: '' }] })),
    { statusCode: 400, error: 'Bad Request', code: 'invalid_request', message: 'request is invalid' })
  t.same(toErrorBody(fastifyError({ validation: [] })),
    { statusCode: 400, error: 'Bad Request', code: 'invalid_request', message: 'The request is invalid' })
})
