import { join } from 'node:path'
import t from 'tap'
import { scratchDir } from '../helpers/scratch.js'
import { callServer, REPO_ROOT, startServer } from '../helpers/server-process.js'

// examples/embedded/server.ts run the way its README says: TypeScript through tsx,
// mounting the built gatehouse/server under /auth of its own app.
const example = join(REPO_ROOT, 'examples', 'embedded', 'server.ts')

const email = 'ada@example.com'
const password = 'correct horse battery staple'

const app = await startServer(t, example, {
  NODE_OPTIONS: '--import tsx',
  DATABASE_URL: `sqlite:${join(scratchDir(import.meta.url), 'embedded.db')}`,
  HOST: '127.0.0.1',
  PORT: '0'
})

function payloadOf (token: string) {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub: string }
}

function headerOf (token: string) {
  return JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as { kid: string }
}

async function login () {
  const reply = await callServer(app, 'POST', '/auth/auth/login', { body: { email, password } })
  if (reply.status !== 200) throw new Error(`login failed: ${reply.status}`)
  return String(reply.body.access_token)
}

t.test('signup and login answer under /auth/auth/*', async t => {
  const signup = await callServer(app, 'POST', '/auth/auth/signup', { body: { email, password } })
  t.equal(signup.status, 201, 'signed up')
  t.match(signup.body, { user: { email, roles: ['user'] } })

  const login = await callServer(app, 'POST', '/auth/auth/login', { body: { email, password } })
  t.equal(login.status, 200, 'logged in')
  t.match(login.body, { token_type: 'Bearer', access_token: String, refresh_token: String, user: { email } })
  t.equal(login.headers.get('cache-control'), 'no-store')
})

t.test('the host\'s own GET /hello greets the bearer of a Gatehouse token by sub', async t => {
  const token = await login()
  const reply = await callServer(app, 'GET', '/hello', { token })
  t.equal(reply.status, 200)
  t.same(reply.body, { message: `Hello, ${payloadOf(token).sub}` })
})

t.test('GET /hello without a token is 401 missing_token with the bearer challenge', async t => {
  const reply = await callServer(app, 'GET', '/hello')
  t.equal(reply.status, 401)
  t.same(reply.body, { statusCode: 401, error: 'Unauthorized', code: 'missing_token', message: 'An access token is required' })
  t.equal(reply.headers.get('www-authenticate'), 'Bearer realm="gatehouse"')
})

t.test('a session logged out under /auth is refused by GET /hello at once', async t => {
  const token = await login()
  t.equal((await callServer(app, 'POST', '/auth/auth/logout', { token })).status, 204, 'logged out')
  const reply = await callServer(app, 'GET', '/hello', { token })
  t.equal(reply.status, 401)
  t.equal(reply.body.code, 'invalid_token')
})

t.test('GET /auth/.well-known/jwks.json publishes the key tokens are signed with', async t => {
  const token = await login()
  const reply = await callServer(app, 'GET', '/auth/.well-known/jwks.json')
  t.equal(reply.status, 200)
  const keys = reply.body.keys as Array<Record<string, unknown>>
  // Beside the signing key, the key that signs after the next rotation may already be published.
  const signing = keys.find(key => key.kid === headerOf(token).kid)
  t.match(signing, { alg: 'ES256', use: 'sig', kty: 'EC', crv: 'P-256', x: String, y: String }, 'the token\'s kid names a published ES256 key')
  t.same(keys.filter(key => 'd' in key), [], 'no private parts')
})

t.test('an unknown path under /auth gets the contract\'s 404 not_found', async t => {
  const reply = await callServer(app, 'GET', '/auth/no-such-thing')
  t.equal(reply.status, 404)
  t.same(reply.body, { statusCode: 404, error: 'Not Found', code: 'not_found', message: 'No such endpoint' })
  t.type(reply.body.message, 'string')
})

t.test('SIGTERM closes the example gracefully', async t => {
  t.same(await app.stop('SIGTERM'), { code: 0, signal: null })
})
