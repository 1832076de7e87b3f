import { test } from 'tap'
import { VerifiedTokens, type VerifiedToken } from '../../../src/verify/verified-tokens.js'

const entry = (sub: string, expiresAt = 10_000): VerifiedToken => ({
  claims: { iss: 'i', aud: 'a', sub, iat: 0, exp: 10, jti: sub, sid: sub, roles: [] },
  header: { alg: 'ES256', kid: 'k' },
  key: 'key',
  expiresAt
})
// Three parts like a JWT; each name gets a signature of its own.
const token = (name: string) => `header.payload-${name}.${name.repeat(12)}x`
/** A token verified twice, as the bearer check remembers it. */
function hold (tokens: VerifiedTokens, text: string, verified: VerifiedToken) {
  tokens.remember(text, verified)
  tokens.remember(text, verified)
}

test('a token verified once is not held; its second verification holds it', async (t) => {
  const tokens = new VerifiedTokens(4)
  tokens.remember(token('a'), entry('a'))
  t.equal(tokens.get(token('a'), 0), undefined, 'seen once: nothing held')
  tokens.remember(token('a'), entry('a'))
  t.equal(tokens.get(token('a'), 0)?.claims.sub, 'a', 'seen twice: held')
  tokens.forget(token('a'))
  tokens.remember(token('a'), entry('a'))
  t.equal(tokens.get(token('a'), 0), undefined, 'forgotten, it needs two verifications again')
})

test('tokens seen once are counted up to max, then forgotten together', async (t) => {
  const tokens = new VerifiedTokens(2)
  tokens.remember(token('a'), entry('a'))
  tokens.remember(token('b'), entry('b'))
  tokens.remember(token('c'), entry('c'))
  tokens.remember(token('a'), entry('a'))
  t.equal(tokens.get(token('a'), 0), undefined, 'a\'s first sight was forgotten when c came: this was its first again')
  tokens.remember(token('c'), entry('c'))
  t.equal(tokens.get(token('c'), 0)?.claims.sub, 'c', 'c, seen after the reset, is held at its second verification')
  tokens.remember(token('a'), entry('a'))
  t.equal(tokens.get(token('a'), 0)?.claims.sub, 'a')
})

test('another verified token under the same index counts as its first sight', async (t) => {
  const tokens = new VerifiedTokens(2)
  const genuine = token('a')
  const twin = genuine.replace('payload-a', 'payload-b')
  tokens.remember(twin, entry('b'))
  tokens.remember(genuine, entry('a'))
  t.equal(tokens.get(genuine, 0)?.claims.sub, 'a', 'held a use early, with its own claims')
  t.equal(tokens.get(twin, 0), undefined, 'the twin itself is not held')
})

test('at most max tokens are held; the oldest goes, and a token used once in the older half moves to the end', async (t) => {
  const tokens = new VerifiedTokens(4)
  for (const name of ['a', 'b', 'c', 'd']) hold(tokens, token(name), entry(name))
  t.equal(tokens.get(token('a'), 0)?.claims.sub, 'a', 'a is used: it was in the older half, it moves to the end')
  hold(tokens, token('e'), entry('e'))
  t.equal(tokens.get(token('b'), 0), undefined, 'b was the oldest and went')
  t.equal(tokens.get(token('c'), 0)?.claims.sub, 'c', 'c moves to the end')
  t.equal(tokens.get(token('e'), 0)?.claims.sub, 'e', 'e, used within the newer half, stays where it is')
  hold(tokens, token('f'), entry('f'))
  t.equal(tokens.get(token('d'), 0), undefined, 'd was the oldest and went')
  for (const name of ['a', 'c', 'e', 'f']) t.equal(tokens.get(token(name), 0)?.claims.sub, name)
  hold(tokens, token('a'), entry('a2'))
  t.equal(tokens.get(token('a'), 0)?.claims.sub, 'a2', 'a token remembered again replaces its entry')
})

test('an entry is not returned after its expiry, and is dropped', async (t) => {
  const tokens = new VerifiedTokens(2)
  hold(tokens, token('a'), entry('a', 100))
  t.equal(tokens.get(token('a'), 99)?.claims.sub, 'a', 'up to just before expiresAt')
  t.equal(tokens.get(token('a'), 100), undefined, 'refused from expiresAt on, as the check refuses a token from exp plus its tolerance on')
  t.equal(tokens.get(token('a'), 0), undefined, 'gone, even for an earlier clock')
})

test('another token with the same signature is neither returned nor forgotten in its place', async (t) => {
  const tokens = new VerifiedTokens(2)
  const genuine = token('a')
  const forged = genuine.replace('payload-a', 'payload-z')
  hold(tokens, genuine, entry('a'))
  t.equal(tokens.get(forged, 0), undefined)
  tokens.forget(forged)
  t.equal(tokens.get(genuine, 0)?.claims.sub, 'a')
  tokens.forget(genuine)
  t.equal(tokens.get(genuine, 0), undefined)
})

test('a token too short to have eight signature characters is still told apart by its whole text', async (t) => {
  const tokens = new VerifiedTokens(2)
  hold(tokens, 'a.b.c', entry('short'))
  t.equal(tokens.get('a.b.c', 0)?.claims.sub, 'short')
  t.equal(tokens.get('x.y.c', 0), undefined)
})

test('a lookup refused (another token under the same index, or expired) keeps no entry fresh', async (t) => {
  const tokens = new VerifiedTokens(4)
  for (const name of ['a', 'b', 'c', 'd']) hold(tokens, token(name), entry(name))
  t.equal(tokens.get(token('a').replace('payload-a', 'payload-z'), 0), undefined, 'a forged token sharing a\'s signature is refused')
  hold(tokens, token('e'), entry('e'))
  t.equal(tokens.get(token('a'), 0), undefined, 'and a, never used, was still the oldest and went')
  t.equal(tokens.get(token('b'), 0)?.claims.sub, 'b')
})
