import { spawn } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import SQLite from 'better-sqlite3'
import { test } from 'tap'
import { openStore } from '../../../src/store/index.js'
import { builtModule } from '../../helpers/server-process.js'

test('a non-sqlite DATABASE_URL is refused with a message naming what is supported', async t => {
  await t.rejects(openStore('postgres://gatehouse@localhost/gatehouse'), { message: 'only sqlite: stores are supported by this version' })
  await t.rejects(openStore('gatehouse.db'), { message: /only sqlite: stores are supported/ })
})

test('a file store is created with its parent directories and answers a ping', async t => {
  const file = join(t.testdir(), 'nested', 'deeper', 'g.db')
  const store = await openStore(`sqlite:${file}`)
  t.teardown(() => store.close())
  await t.resolves(store.ping())
  t.ok(existsSync(file))
})

test('an in-memory store is migrated and answers a ping', async t => {
  const store = await openStore('sqlite::memory:')
  t.teardown(() => store.close())
  await t.resolves(store.ping())
  t.same(await store.db.selectFrom('users').selectAll().execute(), [], 'the schema is in place')
})

test('a failed migration rejects naming the migration and closes the database', async t => {
  const dir = t.testdir()
  const file = join(dir, 'conflict.db')
  // A users table that is not Gatehouse's: 0001_core cannot create its own.
  const foreign = new SQLite(file)
  foreign.exec('create table users (name text)')
  foreign.close()

  await t.rejects(openStore(`sqlite:${file}`), { message: /^store migration 0001_core failed: .*users/ })

  // SQLite removes the WAL and shared-memory files when the last connection closes.
  t.same(readdirSync(dir), ['conflict.db'], 'no -wal/-shm left behind: the connection was closed')
  const check = new SQLite(file, { readonly: true })
  t.teardown(() => check.close())
  const tables = check.prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name").all()
  t.same(tables, [{ name: 'users' }], 'the failed migration left nothing behind, not even its bookkeeping')
})

test('a database already migrated by a newer version is refused naming the migration it does not know', async t => {
  const dir = t.testdir()
  const file = join(dir, 'newer.db')
  const store = await openStore(`sqlite:${file}`)
  await store.close()
  // What a later Gatehouse would leave behind after running a migration this one lacks.
  const newer = new SQLite(file)
  newer.prepare('insert into kysely_migration (name, timestamp) values (?, ?)').run('0099_future', new Date().toISOString())
  newer.close()

  await t.rejects(openStore(`sqlite:${file}`), { message: /^store migrations failed: .*0099_future is missing/ })
  t.same(readdirSync(dir), ['newer.db'], 'no -wal/-shm left behind: the connection was closed')
})

test('processes opening one new file at the same moment all end up with a migrated store', async t => {
  const file = join(t.testdir(), 'shared.db')
  // The built store (`npm test` builds first), in plain Node processes: no loader to start in each.
  const storeModule = pathToFileURL(builtModule('dist/src/store/index.js')).href
  // Each process loads, says so, and opens the file when told: all of them told at once.
  const script = `const { openStore } = await import(${JSON.stringify(storeModule)});
process.send('loaded');
await new Promise(resolve => process.once('message', resolve));
const store = await openStore(${JSON.stringify(`sqlite:${file}`)});
await store.ping(); await store.close(); process.disconnect()`
  const children = Array.from({ length: 8 }, () => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
    t.teardown(() => { child.kill() })
    let stderr = ''
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
    const loaded = new Promise(resolve => child.once('message', resolve))
    const exited = new Promise<{ code: number | null, stderr: string }>(resolve => child.once('close', code => resolve({ code, stderr })))
    return { child, loaded, exited }
  })
  await Promise.all(children.map(({ loaded }) => loaded))
  for (const { child } of children) child.send('open')
  for (const run of await Promise.all(children.map(({ exited }) => exited))) t.equal(run.code, 0, run.stderr)

  const check = new SQLite(file, { readonly: true })
  t.teardown(() => check.close())
  t.same(check.prepare('select name from kysely_migration order by name').all(), [{ name: '0001_core' }, { name: '0002_lifecycle' }, { name: '0003_audit_detail' }], 'each migration ran once')
})

test('0003 moves a 0002 store\'s audit events to the field and type names of API.md, keeping every event', async t => {
  const file = join(t.testdir(), 'upgrade.db')
  await (await openStore(`sqlite:${file}`)).close()
  // Back to what 0002 left: the `reason` column, the earlier type names, 0003 not yet run.
  const old = new SQLite(file)
  old.exec(`delete from kysely_migration where name = '0003_audit_detail';
    alter table audit_events rename column detail to reason;
    insert into audit_events (at, type, reason) values
      (1, 'login_succeeded', null), (2, 'token_refreshed', null), (3, 'refresh_reuse_detected', 'grandparent'), (4, 'logout', 'global');`)
  old.close()

  const store = await openStore(`sqlite:${file}`)
  t.teardown(() => store.close())
  t.same(await store.db.selectFrom('audit_events').select(['type', 'detail']).orderBy('at').execute(), [
    { type: 'login', detail: null },
    { type: 'refresh', detail: null },
    { type: 'refresh_reuse', detail: 'grandparent' },
    { type: 'logout', detail: 'global' }
  ])
})
