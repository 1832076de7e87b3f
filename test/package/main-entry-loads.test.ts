import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { scratchDir } from '../helpers/scratch.js'
import { builtServer, REPO_ROOT } from '../helpers/server-process.js'

const run = promisify(execFile)

// A resource server installs `gatehouse` for the verifier alone: importing it
// must not pull in the auth server's database, password hashing (native
// modules), or its server-only plugins. `npm test` builds dist/ first.
builtServer()

const fixtures = join(REPO_ROOT, 'test', 'package', 'fixtures')
const workDir = scratchDir(import.meta.url)

const SERVER_ONLY = [
  'node_modules/argon2/',
  'node_modules/better-sqlite3/',
  'node_modules/kysely/',
  'node_modules/@fastify/autoload/',
  'node_modules/@fastify/rate-limit/',
  'node_modules/@fastify/swagger',
  'node_modules/env-schema/',
  'node_modules/close-with-grace/',
  'dist/src/store/',
  'dist/src/domain/passwords.js',
  'dist/src/server/app.js',
  'dist/plugins/',
  'dist/routes/'
]

/** Every module file (ESM resolutions and the CommonJS cache) loaded by importing and registering `specifier`. */
async function modulesLoadedBy (specifier: string, options: Record<string, unknown>): Promise<string[]> {
  const urlsFile = join(workDir, `${specifier.replace(/\W/g, '-')}.txt`)
  const { stdout } = await run(process.execPath, [
    '--import', pathToFileURL(join(fixtures, 'record-resolutions.mjs')).href,
    join(fixtures, 'load-entry.mjs'), specifier, JSON.stringify(options)
  ], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', RESOLVED_URLS_FILE: urlsFile } })
  const resolved = (await readFile(urlsFile, 'utf8')).split('\n')
    .filter(url => url.startsWith('file:'))
    .map(url => fileURLToPath(url))
  const required = JSON.parse(stdout) as string[]
  return [...new Set([...resolved, ...required])].map(file => file.split('\\').join('/'))
}

function serverOnly (files: string[]): string[] {
  return files.filter(file => SERVER_ONLY.some(part => file.includes(part)))
}

t.test('the main entry loads none of the auth server\'s modules', async t => {
  const files = await modulesLoadedBy('gatehouse', { secret: 'a shared secret of at least thirty-two bytes' })
  t.ok(files.some(file => file.endsWith('/dist/src/verify/index.js')), 'the built main entry was loaded')
  t.ok(files.some(file => file.includes('node_modules/fast-jwt/')), 'with its verifier')
  t.same(serverOnly(files), [], 'nothing server-only')
})

t.test('the same check sees argon2 and better-sqlite3 loaded by gatehouse/server', async t => {
  const files = await modulesLoadedBy('gatehouse/server', { prefix: '/auth', databaseUrl: 'sqlite::memory:', argon2MemoryCost: 8192, argon2TimeCost: 1 })
  t.ok(files.some(file => file.endsWith('/dist/src/server/embed.js')), 'the built server entry was loaded')
  const found = serverOnly(files)
  t.ok(found.some(file => file.includes('node_modules/argon2/')), 'argon2 is seen')
  t.ok(found.some(file => file.includes('node_modules/better-sqlite3/')), 'better-sqlite3 is seen')
})
