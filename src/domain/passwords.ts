import { availableParallelism } from 'node:os'
import argon2 from 'argon2'
import pLimit from 'p-limit'
import { Overloaded } from './errors.js'
import { HashingJobError, HashingProcess } from './hashing-process.js'

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
  /** Stops the hashing process this hasher started; a shared one (`hashing` option) is left running for its owner to close. */
  close (): Promise<void>
}

/**
 * argon2 work waiting beyond this is refused with 503 rather than queued: a
 * login flood must not grow memory and latency without bound.
 */
const DEFAULT_MAX_PENDING = 32

/**
 * argon2 hashes running at once (and threads in the hashing process): one per
 * core this process may use, and at least two so the hashing process always
 * has the next one while a reply goes out. More would not hash faster, only
 * hold more memory.
 */
export const DEFAULT_CONCURRENCY = Math.max(2, availableParallelism())

export interface PasswordHasherOptions {
  /** argon2 jobs queued or running beyond which more are refused as Overloaded. */
  maxPending?: number
  /** argon2 jobs running at once. */
  concurrency?: number
  /**
   * A hashing process owned by the caller and shared by several hashers (the
   * tests' apps): this hasher neither starts its own nor closes this one.
   */
  hashing?: HashingProcess
}

export function createPasswordHasher (params: Argon2Params, { maxPending = DEFAULT_MAX_PENDING, concurrency = DEFAULT_CONCURRENCY, hashing: shared }: PasswordHasherOptions = {}): PasswordHasher {
  const options = { type: argon2.argon2id as 2, ...params }
  const limit = pLimit(concurrency)
  const hashing = shared ?? new HashingProcess(concurrency)

  function gated<T> (work: () => Promise<T>): Promise<T> {
    if (limit.activeCount + limit.pendingCount >= maxPending) return Promise.reject(new Overloaded())
    return limit(work)
  }

  // Made up front, here, so the first unknown-email login is not slower than the rest.
  const dummyHash = argon2.hash('gatehouse-dummy-password', options)
  dummyHash.catch(() => {})
  const verifyInProcess = (hash: string, password: string) => hashing.run({ op: 'verify', hash, password }) as Promise<boolean>

  return {
    hash (password) {
      return gated(() => hashing.run({ op: 'hash', password, options }) as Promise<string>)
    },
    async verify (storedHash, password) {
      let ok: boolean
      try {
        ok = await gated(() => verifyInProcess(storedHash, password))
      } catch (err) {
        // argon2 refusing the stored hash is a mismatch; an overload or a failed hashing process is not.
        if (err instanceof HashingJobError) return { ok: false, needsRehash: false }
        throw err
      }
      const needsRehash = ok && (!storedHash.startsWith('$argon2id$') || argon2.needsRehash(storedHash, params))
      return { ok, needsRehash }
    },
    async verifyDummy (password) {
      const hash = await dummyHash
      await gated(() => verifyInProcess(hash, password).catch(() => false))
    },
    async close () {
      if (shared === undefined) await hashing.close()
    }
  }
}
