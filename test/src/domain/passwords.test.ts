import argon2 from 'argon2'
import t, { test } from 'tap'
import { parseConfig } from '../../../src/server/config.js'
import { Overloaded } from '../../../src/domain/errors.js'
import { HashingProcess } from '../../../src/domain/hashing-process.js'
import { acceptablePassword, createPasswordHasher, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../../../src/domain/passwords.js'

const CHEAP = { memoryCost: 8192, timeCost: 1, parallelism: 1 }

// One hashing process for the tests about what the hasher does with it (the
// processes are the subject of the tests that make their own and of
// hashing-process.test.ts): starting one costs more than these hashes.
const shared = new HashingProcess(2)
t.teardown(() => shared.close())
const PASSWORD = 'correct horse battery'

function phcParams (hash: string) {
  const [, type, version, params] = hash.split('$')
  return { type, version, params: String(params).split(',').sort() }
}

test('the default config hashes with argon2id m=19456, t=2, p=1', async (t) => {
  const hasher = createPasswordHasher(parseConfig({}).argon2, { hashing: shared })
  const hash = await hasher.hash(PASSWORD)
  t.same(phcParams(hash), { type: 'argon2id', version: 'v=19', params: ['m=19456', 'p=1', 't=2'] })
  t.same(await hasher.verify(hash, PASSWORD), { ok: true, needsRehash: false })
})

test('the length limits are 8 and 256', async (t) => {
  t.equal(MIN_PASSWORD_LENGTH, 8)
  t.equal(MAX_PASSWORD_LENGTH, 256)
})

test('acceptablePassword takes 8 to 256 code points counted after NFC', async (t) => {
  t.equal(acceptablePassword('a'.repeat(7)), null)
  t.equal(acceptablePassword('a'.repeat(8)), 'a'.repeat(8))
  t.equal(acceptablePassword('a'.repeat(256)), 'a'.repeat(256))
  t.equal(acceptablePassword('a'.repeat(257)), null)
  t.equal(acceptablePassword(''), null)
  // Astral characters are two UTF-16 units but one code point.
  t.equal(acceptablePassword('\u{1F600}'.repeat(8)), '\u{1F600}'.repeat(8))
  t.equal(acceptablePassword('\u{1F600}'.repeat(256)), '\u{1F600}'.repeat(256))
  t.equal(acceptablePassword('\u{1F600}'.repeat(257)), null)
  t.equal(acceptablePassword('\u{1F600}'.repeat(4)), null, '8 UTF-16 units are still only 4 code points')
  // 'e' + U+0301 is two code points sent and one (U+00E9) after NFC.
  t.equal(acceptablePassword('e\u0301'.repeat(7)), null)
  t.equal(acceptablePassword('e\u0301'.repeat(8)), '\u00e9'.repeat(8))
  t.equal(acceptablePassword('e\u0301'.repeat(256)), '\u00e9'.repeat(256))
  t.equal(acceptablePassword('e\u0301'.repeat(257)), null)
})

test('acceptablePassword returns the NFC form and keeps everything else as sent', async (t) => {
  t.equal(acceptablePassword('cafe\u0301 au lait'), 'caf\u00e9 au lait')
  t.equal(acceptablePassword('  spaced  '), '  spaced  ', 'no trimming')
  t.equal(acceptablePassword('MiXeD CaSe'), 'MiXeD CaSe', 'no case folding')
  // NFC, not NFKC: compatibility characters stay distinct.
  t.equal(acceptablePassword('\uFB01rst-class'), '\uFB01rst-class')
})

test('acceptablePassword refuses lone surrogates', async (t) => {
  t.equal(acceptablePassword('abcdefgh\ud800'), null)
  t.equal(acceptablePassword('\udfffabcdefgh'), null)
  t.equal(acceptablePassword('abcd\ud83d\ud83dxyzw'), null)
  t.equal(acceptablePassword('abcdefgh\u{1F600}'), 'abcdefgh\u{1F600}', 'a proper pair is fine')
})

test('verify accepts the right password and refuses a wrong one', async (t) => {
  const hasher = createPasswordHasher(CHEAP, { hashing: shared })
  const hash = await hasher.hash(PASSWORD)
  t.not(hash, await hasher.hash(PASSWORD), 'salted: two hashes of one password differ')
  t.same(await hasher.verify(hash, PASSWORD), { ok: true, needsRehash: false })
  t.same(await hasher.verify(hash, 'wrong password'), { ok: false, needsRehash: false })
})

test('verify asks for a rehash when the stored parameters are weaker than the current ones', async (t) => {
  const weak = await createPasswordHasher(CHEAP, { hashing: shared }).hash(PASSWORD)
  const stronger = createPasswordHasher({ memoryCost: 16384, timeCost: 2, parallelism: 1 }, { hashing: shared })
  t.same(await stronger.verify(weak, PASSWORD), { ok: true, needsRehash: true })
  t.same(await stronger.verify(weak, 'wrong password'), { ok: false, needsRehash: false }, 'never for a wrong password')
})

test('verify asks for a rehash of an argon2i or argon2d hash', async (t) => {
  const hasher = createPasswordHasher(CHEAP, { hashing: shared })
  for (const type of [argon2.argon2i, argon2.argon2d] as const) {
    const legacy = await argon2.hash(PASSWORD, { type, ...CHEAP })
    t.same(await hasher.verify(legacy, PASSWORD), { ok: true, needsRehash: true })
    t.same(await hasher.verify(legacy, 'wrong password'), { ok: false, needsRehash: false })
  }
})

test('verify treats a malformed stored hash as a mismatch', async (t) => {
  const hasher = createPasswordHasher(CHEAP, { hashing: shared })
  for (const stored of ['', 'not-a-hash', '$argon2id$v=19$m=8192,t=1,p=1$broken', '$2b$10$abcdefghijklmnopqrstuv']) {
    t.same(await hasher.verify(stored, PASSWORD), { ok: false, needsRehash: false }, JSON.stringify(stored))
  }
})

test('verifyDummy spends a verification and resolves whatever the password', async (t) => {
  const hasher = createPasswordHasher(CHEAP, { hashing: shared })
  for (const password of [PASSWORD, '', 'gatehouse-dummy-password', 'x'.repeat(256)]) {
    t.equal(await hasher.verifyDummy(password), undefined)
  }
})

test('argon2 work beyond the queue bound is refused as Overloaded', async (t) => {
  const hasher = createPasswordHasher(CHEAP, { maxPending: 2, hashing: shared })
  const hash = await hasher.hash(PASSWORD)
  const results = await Promise.allSettled([
    hasher.hash(PASSWORD), hasher.verify(hash, PASSWORD), hasher.hash(PASSWORD), hasher.verify(hash, PASSWORD), hasher.verifyDummy(PASSWORD)
  ])
  t.same(results.map(r => r.status), ['fulfilled', 'fulfilled', 'rejected', 'rejected', 'rejected'])
  for (const r of results) if (r.status === 'rejected') t.ok(r.reason instanceof Overloaded)
  t.same(await hasher.verify(hash, PASSWORD), { ok: true, needsRehash: false }, 'capacity returns once the work is done')
})

test('a failed argon2 call releases its queue slot', async (t) => {
  const hasher = createPasswordHasher(CHEAP, { maxPending: 1, hashing: shared })
  t.same(await hasher.verify('not-a-hash', PASSWORD), { ok: false, needsRehash: false })
  t.type(await hasher.hash(PASSWORD), 'string')
})

test('no more argon2 jobs run at once than the concurrency, and the rest wait their turn', async (t) => {
  let running = 0
  let most = 0
  class CountingProcess extends HashingProcess {
    override async run (...args: Parameters<HashingProcess['run']>) {
      most = Math.max(most, ++running)
      try {
        return await super.run(...args)
      } finally {
        running--
      }
    }
  }
  const hashing = new CountingProcess(2)
  t.teardown(() => hashing.close())
  const hasher = createPasswordHasher(CHEAP, { maxPending: 32, concurrency: 2, hashing })
  const hash = await hasher.hash(PASSWORD)
  const results = await Promise.all(Array.from({ length: 6 }, () => hasher.verify(hash, PASSWORD)))
  t.same(results, Array.from({ length: 6 }, () => ({ ok: true, needsRehash: false })))
  t.equal(most, 2)
})

test('a hasher closes the hashing process it started', async (t) => {
  const hasher = createPasswordHasher(CHEAP)
  t.type(await hasher.hash(PASSWORD), 'string')
  await hasher.close()
  await t.rejects(hasher.hash(PASSWORD), { message: 'the password hashing process is closed' })
})

test('a hashing process given to several hashers outlives the close of each; its owner closes it', async (t) => {
  const hashing = new HashingProcess(2)
  const first = createPasswordHasher(CHEAP, { hashing })
  const second = createPasswordHasher(CHEAP, { hashing })
  const hash = await first.hash(PASSWORD)
  const pid = hashing.pid
  t.type(pid, 'number', 'the shared process runs the first hasher\'s work')
  await first.close()
  t.same(await second.verify(hash, PASSWORD), { ok: true, needsRehash: false }, 'the other hasher still hashes')
  t.equal(hashing.pid, pid, 'in the same process')
  await hashing.close()
  await t.rejects(second.hash(PASSWORD), { message: 'the password hashing process is closed' }, 'closed by its owner, it is closed for all')
})

test('calls waiting for their turn count against the queue bound', async (t) => {
  const hasher = createPasswordHasher(CHEAP, { maxPending: 3, concurrency: 1, hashing: shared })
  const hash = await hasher.hash(PASSWORD)
  const results = await Promise.allSettled([
    hasher.verify(hash, PASSWORD), hasher.verify(hash, PASSWORD), hasher.verify(hash, PASSWORD), hasher.verify(hash, PASSWORD)
  ])
  t.same(results.map(r => r.status), ['fulfilled', 'fulfilled', 'fulfilled', 'rejected'], 'one running and two waiting fill a bound of three')
  t.ok((results[3] as PromiseRejectedResult).reason instanceof Overloaded)
})
