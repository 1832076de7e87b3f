import { mkdtempSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'tap'
import { openStore } from '../../../src/store/index.js'

// The store holds password hashes and private signing keys: only its owner may read it.
test('a new data folder is created 0700 and a new SQLite file 0600, whatever the umask', async (t) => {
  const previous = process.umask(0o022)
  t.teardown(() => { process.umask(previous) })
  const root = mkdtempSync(join(tmpdir(), 'gatehouse-perm-'))
  const file = join(root, 'data', 'nested', 'gatehouse.db')
  const store = await openStore(`sqlite:${file}`)
  t.teardown(() => store.close())
  t.equal(statSync(join(root, 'data', 'nested')).mode & 0o777, 0o700, 'the folder')
  t.equal(statSync(join(root, 'data')).mode & 0o777, 0o700, 'its parent made with it')
  t.equal(statSync(file).mode & 0o777, 0o600, 'the database file')
  t.equal(statSync(`${file}-wal`).mode & 0o777, 0o600, 'its write-ahead log')
})

test('an existing store file keeps working and is not widened', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'gatehouse-perm-'))
  const file = join(root, 'gatehouse.db')
  const first = await openStore(`sqlite:${file}`)
  await first.db.insertInto('server_secrets').values({ name: 'kept', value: 'x', created_at: 1 }).execute()
  await first.close()
  const again = await openStore(`sqlite:${file}`)
  t.teardown(() => again.close())
  t.equal((await again.db.selectFrom('server_secrets').select('value').where('name', '=', 'kept').executeTakeFirst())?.value, 'x')
  t.equal(statSync(file).mode & 0o777, 0o600)
})
