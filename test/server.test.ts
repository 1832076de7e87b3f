import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { builtServer, callServer, PROCESS_ENV, runToExit, startServer, type RunningServer } from './helpers/server-process.js'

// What `npm start` runs: the app compiled by tsconfig.build.json, started as its own process.
const serverJs = builtServer()

const email = 'restart@example.com'
const password = 'correct horse battery staple'

async function login (server: RunningServer) {
  const reply = await callServer(server, 'POST', '/auth/login', { body: { email, password } })
  return { status: reply.status, token: String(reply.body.access_token) }
}

t.test('users, signing keys and issued tokens survive a graceful restart on the same database', async t => {
  const env = { ...PROCESS_ENV, DATABASE_URL: `sqlite:${join(t.testdir(), 'g.db')}` }

  const first = await startServer(t, serverJs, env)
  t.equal((await callServer(first, 'POST', '/auth/signup', { body: { email, password } })).status, 201)
  const { status, token } = await login(first)
  t.equal(status, 200)
  const me = await callServer(first, 'GET', '/auth/me', { token })
  t.equal(me.status, 200)
  t.match(me.body, { user: { email } })
  const jwksBefore = await callServer(first, 'GET', '/.well-known/jwks.json')
  t.equal(jwksBefore.status, 200)
  t.ok((jwksBefore.body.keys as unknown[]).length > 0, 'ES256 publishes a key')

  t.same(await first.stop('SIGTERM'), { code: 0, signal: null }, 'SIGTERM closes gracefully and exits 0')
  t.match(first.stdout(), /"signal":"SIGTERM".*"msg":"closing"/, 'the close is logged')

  const second = await startServer(t, serverJs, env)
  t.equal((await login(second)).status, 200, 'the account can log in again')
  t.same((await callServer(second, 'GET', '/.well-known/jwks.json')).body, jwksBefore.body, 'the same keys are published')
  const meAgain = await callServer(second, 'GET', '/auth/me', { token })
  t.equal(meAgain.status, 200, 'a token issued before the restart is still valid')
  t.same(meAgain.body, me.body)
  t.same(await second.stop('SIGTERM'), { code: 0, signal: null })
})

t.test('a too-short HS256 secret stops the start with one line naming JWT_SECRET', async t => {
  const result = await runToExit(t, serverJs, {
    ...PROCESS_ENV,
    DATABASE_URL: `sqlite:${join(t.testdir(), 'g.db')}`,
    JWT_ALG: 'HS256',
    JWT_SECRET: '0123456789'
  })
  t.not(result.code, 0)
  const lines = result.stderr.split('\n').filter(Boolean)
  t.equal(lines.length, 1, 'exactly one line on stderr')
  t.match(lines[0], /JWT_SECRET/)
  t.notMatch(result.stderr, /0123456789/, 'the secret itself is not echoed')
  t.notOk(existsSync(join(t.testdirName, 'g.db')), 'nothing is opened before the configuration is valid')
})

t.test('a PORT that is not a number stops the start with one line naming PORT', async t => {
  const result = await runToExit(t, serverJs, { ...PROCESS_ENV, DATABASE_URL: 'sqlite::memory:', PORT: 'notanumber' })
  t.not(result.code, 0)
  const lines = result.stderr.split('\n').filter(Boolean)
  t.equal(lines.length, 1, 'exactly one line on stderr')
  t.match(lines[0], /\bPORT\b/)
})

t.test('without DATABASE_URL the store is ./data/gatehouse.db under the working directory, created on first start', async t => {
  // Outside the repository, so the default path cannot touch a developer's ./data.
  const cwd = mkdtempSync(join(tmpdir(), 'gatehouse-cwd-'))
  t.teardown(() => rmSync(cwd, { recursive: true, force: true }))
  t.notOk(existsSync(join(cwd, 'data')))

  const server = await startServer(t, serverJs, PROCESS_ENV, cwd)
  t.equal((await callServer(server, 'POST', '/auth/signup', { body: { email, password } })).status, 201)
  t.same(await server.stop('SIGTERM'), { code: 0, signal: null })
  t.ok(existsSync(join(cwd, 'data', 'gatehouse.db')), 'the default database file exists')
})

t.test('a port already in use stops the start with exit code 1 and a logged reason', async t => {
  const occupant = createServer()
  await new Promise<void>(resolve => occupant.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise(resolve => occupant.close(resolve)))
  const { port } = occupant.address() as AddressInfo

  const result = await runToExit(t, serverJs, { ...PROCESS_ENV, DATABASE_URL: 'sqlite::memory:', PORT: String(port) })
  t.same({ code: result.code, signal: result.signal }, { code: 1, signal: null })
  t.match(result.stdout, /"level":50,.*"code":"EADDRINUSE".*"msg":"could not listen"/, 'the failure is logged as an error with its cause')
})
