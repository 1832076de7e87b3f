import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { scratchDir } from '../helpers/scratch.js'
import { builtServer, REPO_ROOT } from '../helpers/server-process.js'

const run = promisify(execFile)

// What a user gets from the registry: the tarball `npm pack` makes of the
// built package, installed into a project of its own. `npm test` builds
// dist/ before tap runs; alone, run `npm run build:test` first.
builtServer()

// The test runner's coverage and loaders stay out of the child processes.
const env = Object.fromEntries(Object.entries(process.env)
  .filter(([name]) => name !== 'NODE_OPTIONS' && name !== 'NODE_V8_COVERAGE' && !/^_?TAP/i.test(name)))

interface PackResult { filename: string, files: Array<{ path: string }> }

const packDir = scratchDir(import.meta.url)
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

/**
 * Installs the tarball as npm would lay it out, without npm's resolver (which
 * alone costs tens of seconds of CPU): the package unpacked in the project's
 * node_modules, and beside it links to exactly the dependencies its packed
 * package.json declares. An import the package makes of anything it does not
 * declare finds nothing.
 */
async function install (project: string, extra: string[]): Promise<void> {
  const target = join(project, 'node_modules', 'gatehouse')
  await mkdir(target, { recursive: true })
  await run('tar', ['-xzf', tarball, '-C', target, '--strip-components=1'])
  const manifest = JSON.parse(await readFile(join(target, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }
  for (const name of [...Object.keys(manifest.dependencies ?? {}), ...extra]) {
    const installed = join(REPO_ROOT, 'node_modules', name)
    // npm ci has checked the versions against the lock file; a package only nested deeper is not here.
    if (!existsSync(join(installed, 'package.json'))) throw new Error(`${name} is not installed at the top of node_modules`)
    const link = join(project, 'node_modules', name)
    await mkdir(dirname(link), { recursive: true })
    await symlink(installed, link, 'dir')
  }
}

t.test('the installed package verifies a Gatehouse HS256 token in a plain ESM project', async t => {
  // Outside the repository, so nothing resolves from the repository's own node_modules.
  const project = await mkdtemp(join(tmpdir(), 'gatehouse-consumer-'))
  t.teardown(() => rm(project, { recursive: true, force: true }))
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }))
  await install(project, ['fastify'])

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

t.test('inside the installed package, a package its manifest does not declare cannot be imported', async t => {
  const project = await mkdtemp(join(tmpdir(), 'gatehouse-consumer-'))
  t.teardown(() => rm(project, { recursive: true, force: true }))
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }))
  await install(project, [])
  const probe = join(project, 'node_modules', 'gatehouse', 'probe.js')
  await writeFile(probe, "await import('fastify-plugin'); await import('tap')\n")
  const failure = await run(process.execPath, [probe], { cwd: project, env }).then(() => ({ stderr: '' }), (error: { stderr: string }) => error)
  t.match(failure.stderr, /Cannot find package 'tap' imported from .*gatehouse[/\\]probe\.js/,
    'a declared dependency resolves; tap, a dev dependency here, does not')
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
