import { test } from 'tap'
import { openStore } from '../../../src/store/index.js'
import { UserDirectory } from '../../../src/domain/user-directory.js'
import { testClock } from '../../helpers/clock.js'

/** A user as the current-user service asks for one: held, else read from the store. */
async function shown (users: UserDirectory, id: string) {
  return users.cached(id) ?? await users.load(id)
}

async function storeWithUser (t: { teardown (fn: () => unknown): void }) {
  const store = await openStore('sqlite::memory:')
  t.teardown(() => store.close())
  await store.db.insertInto('users').values({ id: 'u1', email: 'ada@example.com', password_hash: 'x', roles: '["user"]', created_at: 1_700_000_000_000 }).execute()
  return store
}

test('a user read once is served from memory until the ttl, then read again', async (t) => {
  const store = await storeWithUser(t)
  const clock = testClock()
  const users = new UserDirectory(store.db, { ttl: 30_000, clock })
  t.equal(users.cached('u1'), undefined, 'nothing is held before the first read')
  t.strictSame(await shown(users, 'u1'), { id: 'u1', email: 'ada@example.com', roles: ['user'], createdAt: 1_700_000_000_000 }, 'no password hash is held')
  t.equal(users.cached('u1')?.email, 'ada@example.com', 'then it is held')
  await store.db.deleteFrom('users').where('id', '=', 'u1').execute()
  t.equal((await shown(users, 'u1'))?.email, 'ada@example.com', 'within the ttl, no store read')
  clock.advance(30_000)
  t.equal((await shown(users, 'u1'))?.email, 'ada@example.com', 'still at the ttl itself')
  clock.advance(1)
  t.equal(users.cached('u1'), undefined, 'after the ttl it is no longer held')
  t.equal(await shown(users, 'u1'), undefined, 'after the ttl the store decides')
})

test('load reads the store even for a held user, and holds what it read', async (t) => {
  const store = await storeWithUser(t)
  const users = new UserDirectory(store.db, { clock: testClock() })
  await shown(users, 'u1')
  await store.db.updateTable('users').set({ email: 'ada@example.org' }).where('id', '=', 'u1').execute()
  t.equal(users.cached('u1')?.email, 'ada@example.com', 'held as first read')
  t.equal((await users.load('u1'))?.email, 'ada@example.org', 'load reads the store')
  t.equal(users.cached('u1')?.email, 'ada@example.org', 'and holds the new read')
  await store.db.deleteFrom('users').where('id', '=', 'u1').execute()
  t.equal(await users.load('u1'), undefined, 'a deleted account loads as undefined')
})

test('an unknown id is not remembered: an account created later is found at once', async (t) => {
  const store = await storeWithUser(t)
  const users = new UserDirectory(store.db)
  t.equal(await shown(users, 'u2'), undefined)
  await store.db.insertInto('users').values({ id: 'u2', email: 'bob@example.com', password_hash: 'x', roles: '["user"]', created_at: 1 }).execute()
  t.equal((await shown(users, 'u2'))?.email, 'bob@example.com')
})

test('at most max users are held, the least recently shown dropped first', async (t) => {
  const store = await storeWithUser(t)
  for (const id of ['u2', 'u3']) await store.db.insertInto('users').values({ id, email: `${id}@example.com`, password_hash: 'x', roles: '["user"]', created_at: 1 }).execute()
  const users = new UserDirectory(store.db, { max: 2 })
  await shown(users, 'u1')
  await shown(users, 'u2')
  t.ok(users.cached('u1'), 'u1 shown again: u2 is now the oldest')
  await shown(users, 'u3')
  t.equal(users.cached('u2'), undefined, 'u2 was dropped')
  t.ok(users.cached('u1'))
  t.ok(users.cached('u3'))
})
