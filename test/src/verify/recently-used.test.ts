import { test } from 'tap'
import { RecentlyUsed } from '../../../src/verify/recently-used.js'

test('beyond max, the entry first in the order goes', async (t) => {
  const recent = new RecentlyUsed<string, number>(3)
  for (const [index, key] of ['a', 'b', 'c', 'd'].entries()) recent.set(key, index)
  t.equal(recent.get('a'), undefined, 'a, set first and never read, went')
  t.same(['b', 'c', 'd'].map(key => recent.get(key)), [1, 2, 3])
})

test('a read in the older half moves an entry to the end; a read in the newer half moves nothing', async (t) => {
  const recent = new RecentlyUsed<string, string>(4)
  for (const key of ['a', 'b', 'c', 'd']) recent.set(key, key)
  t.equal(recent.get('a'), 'a', 'a, three moves old, is read')
  recent.set('e', 'e')
  t.equal(recent.get('b'), undefined, 'so b went in its place')
  t.equal(recent.get('e'), 'e', 'e, read at once, stays where it is')
  recent.set('f', 'f')
  recent.set('g', 'g')
  t.equal(recent.get('c'), undefined, 'c went')
  t.equal(recent.get('d'), undefined, 'then d')
  recent.set('h', 'h')
  t.equal(recent.get('a'), undefined, 'a, moved before e was set, went before e')
  t.same(['e', 'f', 'g', 'h'].map(key => recent.get(key)), ['e', 'f', 'g', 'h'])
})

test('setting a key again replaces its value and moves it to the end; delete removes it', async (t) => {
  const recent = new RecentlyUsed<string, number>(2)
  recent.set('a', 1)
  recent.set('b', 2)
  recent.set('a', 3)
  recent.set('c', 4)
  t.equal(recent.get('b'), undefined, 'b was first once a was set again')
  t.equal(recent.get('a'), 3)
  recent.delete('a')
  t.equal(recent.get('a'), undefined)
  t.equal(recent.get('c'), 4)
})

test('peek reads a value without counting it as used', async (t) => {
  const recent = new RecentlyUsed<string, string>(4)
  for (const key of ['a', 'b', 'c', 'd']) recent.set(key, key)
  t.equal(recent.peek('a'), 'a')
  t.equal(recent.peek('z'), undefined)
  recent.set('e', 'e')
  t.equal(recent.peek('a'), undefined, 'a, only peeked at, went first')
  t.equal(recent.peek('b'), 'b')
})
