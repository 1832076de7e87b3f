import { test } from 'tap'
import { RevocationSet } from '../../../src/verify/revocation-set.js'

// The revoked sessions both the server's list and the plugin's feed follower hold.

const T0 = 1_700_000_000_000

test('a session is revoked until its expiry, and not from that instant on', async (t) => {
  const set = new RevocationSet()
  set.add('s1', T0 + 1_000)
  t.ok(set.has('s1', T0))
  t.ok(set.has('s1', T0 + 999))
  t.notOk(set.has('s1', T0 + 1_000), 'not at its expiry')
  t.notOk(set.has('s1', T0 + 5_000), 'nor after it')
  t.notOk(set.has('s2', T0), 'a session never added is not revoked')
})

test('an expired entry never counts, though it is held until pruned', async (t) => {
  const set = new RevocationSet()
  set.add('old', T0)
  t.notOk(set.has('old', T0))
  t.equal(set.size, 1)
  set.prune(T0)
  t.equal(set.size, 0)
  t.notOk(set.has('old', T0 - 1), 'once pruned, not even an earlier time finds it')
})

test('prune drops the entries expired at its time and keeps the others', async (t) => {
  const set = new RevocationSet()
  set.add('a', T0 + 1_000)
  set.add('b', T0 + 2_000)
  set.add('c', T0 + 3_000)
  set.prune(T0 + 2_000)
  t.equal(set.size, 1)
  t.notOk(set.has('a', T0), 'pruned')
  t.notOk(set.has('b', T0), 'pruned at its expiry')
  t.ok(set.has('c', T0 + 2_999))
})

test('a session added again keeps the later expiry', async (t) => {
  const set = new RevocationSet()
  set.add('s1', T0 + 5_000)
  set.add('s1', T0 + 1_000)
  t.ok(set.has('s1', T0 + 4_999), 'an earlier expiry does not shorten it')
  set.add('s1', T0 + 9_000)
  t.ok(set.has('s1', T0 + 8_999), 'a later one extends it')
  t.notOk(set.has('s1', T0 + 9_000))
  t.equal(set.size, 1)
})
