import { join } from 'node:path'
import SQLite from 'better-sqlite3'
import t from 'tap'
import { scratchDir } from './helpers/scratch.js'
import { builtServer, callServer, PROCESS_ENV, startServer } from './helpers/server-process.js'

// The production logger (src/logger.ts with its redaction) as `npm start` runs
// it: stdout is a pipe, so every line is pino JSON.
const dir = scratchDir(import.meta.url)
const serverJs = builtServer()
const dbFile = join(dir, 'g.db')

const email = 'logged@example.com'
const password = 'log-me-not password 1'
const wrongPassword = 'wrong guess password 2'
const malformedPassword = 'in-broken-json password 3'
const ignoredSecret = 'an ignored HS256 secret that must stay out of logs'

const server = await startServer(t, serverJs, {
  ...PROCESS_ENV,
  DATABASE_URL: `sqlite:${dbFile}`,
  LOG_LEVEL: 'trace',
  // Ignored under ES256, with a warning: the warning must not quote it.
  JWT_SECRET: ignoredSecret
})

async function send (method: string, path: string, rawBody?: string, token?: string) {
  const reply = await callServer(server, method, path, { rawBody, token })
  return { status: reply.status, body: reply.body as Record<string, string> }
}

const signup = await send('POST', '/auth/signup', JSON.stringify({ email, password }))
const login = await send('POST', '/auth/login', JSON.stringify({ email, password }))
const failedLogin = await send('POST', '/auth/login', JSON.stringify({ email, password: wrongPassword }))
const accessToken = login.body.access_token ?? ''
const refreshToken = login.body.refresh_token ?? ''
const me = await send('GET', '/auth/me', undefined, accessToken)
const greeting = await send('GET', '/', undefined, accessToken)
// Node 20's JSON.parse quotes the text around the error in its message; the trailing comma puts the password there.
const malformed = await send('POST', '/auth/login', `{"email":"${email}","password":"${malformedPassword}",}`)
const exit = await server.stop('SIGTERM')
const log = server.stdout()

const db = new SQLite(dbFile, { readonly: true })
const keyRows = db.prepare('select private_jwk from signing_keys').all() as { private_jwk: string }[]
const hashRows = db.prepare('select password_hash from users').all() as { password_hash: string }[]
db.close()

t.test('the flow ran as expected and the server closed cleanly', async t => {
  t.equal(signup.status, 201)
  t.equal(login.status, 200)
  t.equal(failedLogin.status, 401)
  t.equal(me.status, 200)
  t.equal(greeting.body.message, `Hello, ${email}!`)
  t.equal(malformed.status, 400)
  t.not(malformed.body.message, undefined)
  t.notMatch(JSON.stringify(malformed.body), malformedPassword, 'the error reply does not quote the body either')
  t.same(exit, { code: 0, signal: null })
  t.equal(server.stderr(), '', 'nothing on stderr')
})

t.test('at trace level every request is logged as JSON lines', async t => {
  const lines = log.split('\n').filter(Boolean).map(line => JSON.parse(line) as Record<string, unknown>)
  t.ok(lines.length > 10, 'the log is not empty')
  const incoming = lines.filter(l => l.msg === 'incoming request').map(l => (l.req as { url: string }).url)
  t.same(incoming, ['/auth/signup', '/auth/login', '/auth/login', '/auth/me', '/', '/auth/login'])
  const completed = lines.filter(l => l.msg === 'request completed').map(l => (l.res as { statusCode: number }).statusCode)
  t.same(completed, [201, 200, 401, 200, 200, 400])
  const refused = lines.filter(l => typeof l.code === 'string').map(l => l.code)
  t.same(refused, ['invalid_credentials', 'invalid_request'], 'refusals are logged with their code')
  t.ok(lines.every(l => l.msg !== 'incoming request' || typeof l.reqId === 'string'), 'request lines carry a request id')
})

t.test('no password appears in the log', async t => {
  for (const secret of [password, wrongPassword, malformedPassword]) {
    t.notOk(log.includes(secret), `password ${JSON.stringify(secret)} is absent`)
  }
  t.equal(hashRows.length, 1)
  for (const { password_hash: hash } of hashRows) t.notOk(log.includes(hash), 'the password hash is absent')
})

t.test('no access token, refresh token or Authorization header appears in the log', async t => {
  const [header, payload, signature] = accessToken.split('.')
  t.ok(header && payload && signature && refreshToken, 'tokens were issued')
  t.notOk(log.includes(accessToken), 'the access token is absent')
  t.notOk(log.includes(`Bearer ${accessToken}`), 'the Authorization header value is absent')
  t.notOk(log.includes(signature ?? '-'), 'the access token signature is absent')
  t.notOk(log.includes(payload ?? '-'), 'the access token claims segment is absent')
  t.notOk(log.includes(refreshToken), 'the refresh token is absent')
})

t.test('no private key material or configured secret appears in the log', async t => {
  t.equal(keyRows.length, 2, 'the active and the next signing key were made')
  for (const row of keyRows) {
    const d = (JSON.parse(row.private_jwk) as { d?: string }).d
    t.ok(d, 'the private JWK has a d member')
    t.notOk(log.includes(d ?? '-'), 'the private exponent is absent')
  }
  t.notOk(log.includes('-----BEGIN'), 'no PEM block is logged')
  t.notOk(log.includes(ignoredSecret), 'the ignored JWT_SECRET is absent')
  t.match(log, /JWT_SECRET is ignored/, 'while the warning about it is logged')
})
