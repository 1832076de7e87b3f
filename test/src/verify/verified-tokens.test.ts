import { test } from 'tap'
import { VerifiedTokens, type VerifiedToken } from '../../../src/verify/verified-tokens.js'

const entry = (sub: string, expiresAt = 10_000): VerifiedToken => ({
  claims: { iss: 'i', aud: 'a', sub, iat: 0, exp: 10, jti: sub, sid: sub, roles: [] },
  header: { alg: 'ES256', kid: 'k' },
  key: 'key',
  expiresAt
})
// Three parts like a JWT; the signatures differ in their first characters.
const token = (name: string) => `header.payload-${name}.${name}-signature-0123456789abcdef`

test('at most max tokens are held, the least recently used dropped first', async (t) => {
  const tokens = new VerifiedTokens(2)
  tokens.remember(token('a'), entry('a'))
  tokens.remember(token('b'), entry('b'))
  t.equal(tokens.get(token('a'), 0)?.claims.sub, 'a', 'a is used again: b is now the oldest')
  tokens.remember(token('c'), entry('c'))
  t.equal(tokens.get(token('b'), 0), undefined, 'b was dropped')
  t.equal(tokens.get(token('a'), 0)?.claims.sub, 'a')
  t.equal(tokens.get(token('c'), 0)?.claims.sub, 'c')
  tokens.remember(token('c'), entry('c2'))
  tokens.remember(token('d'), entry('d'))
  t.equal(tokens.get(token('a'), 0), undefined, 'remembering c again made a the oldest')
  t.equal(tokens.get(token('c'), 0)?.claims.sub, 'c2', 'and replaced its entry')
})

test('an entry is not returned after its expiry, and is dropped', async (t) => {
  const tokens = new VerifiedTokens(2)
  tokens.remember(token('a'), entry('a', 100))
  t.equal(tokens.get(token('a'), 100)?.claims.sub, 'a', 'up to expiresAt inclusive')
  t.equal(tokens.get(token('a'), 101), undefined)
  t.equal(tokens.get(token('a'), 0), undefined, 'gone, even for an earlier clock')
})

test('another token with the same signature start is neither returned nor forgotten in its place', async (t) => {
  const tokens = new VerifiedTokens(2)
  const genuine = token('a')
  const forged = genuine.replace('payload-a', 'payload-z')
  tokens.remember(genuine, entry('a'))
  t.equal(tokens.get(forged, 0), undefined)
  tokens.forget(forged)
  t.equal(tokens.get(genuine, 0)?.claims.sub, 'a')
  tokens.forget(genuine)
  t.equal(tokens.get(genuine, 0), undefined)
})
