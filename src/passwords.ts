import { availableParallelism } from 'node:os'
import argon2 from 'argon2'
import pLimit from 'p-limit'
import { OverloadedError } from './errors.js'

export interface Argon2Params {
  memoryCost: number
  timeCost: number
  parallelism: number
}

export const MIN_PASSWORD_LENGTH = 8
export const MAX_PASSWORD_LENGTH = 256

/** NFC-normalises a password, or returns null when it breaks the length rule or is not well-formed Unicode. */
export function acceptablePassword (raw: string): string | null {
  // A lone surrogate would be encoded as U+FFFD, so two different passwords could hash alike.
  if (!raw.isWellFormed()) return null
  const normalized = raw.normalize('NFC')
  // Array.from counts code points, not UTF-16 units.
  const codePoints = Array.from(normalized).length
  return codePoints >= MIN_PASSWORD_LENGTH && codePoints <= MAX_PASSWORD_LENGTH ? normalized : null
}

export interface PasswordHasher {
  hash (password: string): Promise<string>
  /** Checks a password; `needsRehash` is true when the stored hash is weaker than the current parameters or not argon2id. */
  verify (storedHash: string, password: string): Promise<{ ok: boolean, needsRehash: boolean }>
  /** Spends the time of a real verification, so an unknown account answers no faster than a wrong password. */
  verifyDummy (password: string): Promise<void>
}

/**
 * argon2 work waiting beyond this is refused with 503 rather than queued: a
 * login flood must not grow memory and latency without bound.
 */
const DEFAULT_MAX_PENDING = 32

/**
 * argon2 hashes running at once: one per core this process may use, and at
 * least two so the thread pool always has the next one while a reply goes
 * out. More would not verify faster, only take CPU from the event loop,
 * which must keep answering token checks during a login flood.
 */
export const DEFAULT_CONCURRENCY = Math.max(2, availableParallelism())

export function createPasswordHasher (params: Argon2Params, maxPending = DEFAULT_MAX_PENDING, concurrency = DEFAULT_CONCURRENCY): PasswordHasher {
  const options = { type: argon2.argon2id as 2, ...params }
  const limit = pLimit(concurrency)

  function gated<T> (work: () => Promise<T>): Promise<T> {
    if (limit.activeCount + limit.pendingCount >= maxPending) return Promise.reject(new OverloadedError())
    return limit(work)
  }

  // Made up front so the first unknown-email login is not slower than the rest.
  const dummyHash = argon2.hash('gatehouse-dummy-password', options)
  dummyHash.catch(() => {})

  return {
    hash (password) {
      return gated(() => argon2.hash(password, options))
    },
    async verify (storedHash, password) {
      let ok: boolean
      try {
        ok = await gated(() => argon2.verify(storedHash, password))
      } catch (err) {
        if (err instanceof OverloadedError) throw err
        return { ok: false, needsRehash: false }
      }
      const needsRehash = ok && (!storedHash.startsWith('$argon2id$') || argon2.needsRehash(storedHash, params))
      return { ok, needsRehash }
    },
    async verifyDummy (password) {
      const hash = await dummyHash
      await gated(() => argon2.verify(hash, password).catch(() => false))
    }
  }
}
