import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { builtServer, REPO_ROOT } from '../helpers/server-process.js'

const run = promisify(execFile)

// What a user gets from the registry: the tarball `npm pack` makes of the
// built package, installed into a project of its own. `npm test` builds
// dist/ before tap runs; alone, run `npm run build:test` first.
builtServer()
// npm install alone takes tens of seconds; more on a cold cache.
t.setTimeout(300_000)

// The test runner's coverage and loaders stay out of the child processes.
const env = Object.fromEntries(Object.entries(process.env)
  .filter(([name]) => name !== 'NODE_OPTIONS' && name !== 'NODE_V8_COVERAGE' && !/^_?TAP/i.test(name)))

interface PackResult { filename: string, files: Array<{ path: string }> }

const packDir = t.testdir()
// `--ignore-scripts` skips prepack's rebuild: rewriting dist/ under the other test files running meanwhile could break them.
const packed = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', packDir], { cwd: REPO_ROOT, env })
const [pack] = JSON.parse(packed.stdout) as [PackResult]
const tarball = join(packDir, pack.filename)
const files = pack.files.map(file => file.path)

t.test('the tarball holds both built entry points and their types', async t => {
  for (const file of ['package.json', 'dist/src/verify/index.js', 'dist/src/verify/index.d.ts', 'dist/src/server/embed.js', 'dist/src/server/embed.d.ts']) {
    t.ok(files.includes(file), `${file} is packed`)
  }
})

t.test('the tarball holds no tests, TypeScript sources or source maps', async t => {
  t.same(files.filter(file => file.startsWith('test/') || file.startsWith('dist/test/')), [], 'no tests')
  t.same(files.filter(file => file.endsWith('.ts') && !file.endsWith('.d.ts')), [], 'no .ts sources')
  t.same(files.filter(file => file.endsWith('.map')), [], 'no source maps')
})

t.test('the installed package verifies a Gatehouse HS256 token in a plain ESM project', async t => {
  // Outside the repository, so nothing resolves from the repository's own node_modules.
  const project = await mkdtemp(join(tmpdir(), 'gatehouse-consumer-'))
  t.teardown(() => rm(project, { recursive: true, force: true }))
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }))
  // Without install scripts the native modules stay unbuilt: the verifier must not need them.
  await run('npm', ['install', tarball, 'fastify', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: project, env })

  await writeFile(join(project, 'check.js'), CONSUMER_SCRIPT)
  const { stdout } = await run(process.execPath, ['check.js'], { cwd: project, env })
  const result = JSON.parse(stdout) as Record<string, { status: number, body: Record<string, unknown>, challenge?: string }>

  t.equal(result.missing?.status, 401, 'no token: 401')
  t.equal(result.missing?.body.code, 'missing_token', 'no token: missing_token')
  t.equal(result.missing?.challenge, 'Bearer realm="gatehouse"', 'no token: the bearer challenge')
  t.equal(result.valid?.status, 200, 'a valid token: 200')
  t.same(result.valid?.body, { sub: 'user-1', roles: ['user'] }, 'a valid token: its claims on request.user')
  t.equal(result.otherSecret?.status, 401, 'a token signed with another secret: 401')
  t.equal(result.otherSecret?.body.code, 'invalid_token', 'a token signed with another secret: invalid_token')
})

// Runs in the installed project: everything it imports comes from that project's node_modules.
const CONSUMER_SCRIPT = `
import Fastify from 'fastify'
import gatehouse from 'gatehouse'
import { createSigner } from 'fast-jwt'

const secret = 'a shared secret of at least thirty-two bytes'
const app = Fastify()
await app.register(gatehouse, { secret })
app.get('/orders', { onRequest: app.authenticate }, async (request) => ({ sub: request.user.sub, roles: request.user.roles }))

function token (key) {
  const now = Math.floor(Date.now() / 1000)
  const sign = createSigner({ key, algorithm: 'HS256', kid: 'hs-1', header: { typ: 'at+jwt' } })
  return sign({ iss: 'gatehouse', aud: 'gatehouse', sub: 'user-1', iat: now, exp: now + 60, jti: 'jti-1', sid: 'session-1', roles: ['user'] })
}

async function call (authorization) {
  const reply = await app.inject({ url: '/orders', headers: authorization === undefined ? {} : { authorization } })
  return { status: reply.statusCode, body: reply.json(), challenge: reply.headers['www-authenticate'] }
}

const result = {
  missing: await call(undefined),
  valid: await call('Bearer ' + token(secret)),
  otherSecret: await call('Bearer ' + token('another secret, also thirty-two bytes or more'))
}
await app.close()
process.stdout.write(JSON.stringify(result))
`
