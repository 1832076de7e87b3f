import { KeyObject } from 'node:crypto'
import type { Algorithm } from 'fast-jwt'
import { createRemoteJWKSet, errors } from 'jose'
import { KeysUnavailableError, UnknownKeyError } from './errors.js'

export interface JwksKeySourceOptions {
  /** Where the JWKS is; pinned here, never taken from a token. */
  jwksUrl: string
  /** How often the whole JWKS is read again in the background, dropping withdrawn keys (ms). */
  refreshInterval?: number
  /** A token naming a `kid` not in the cached set triggers a fetch at most this often (ms). */
  refetchInterval?: number
  /** A fetch slower than this is aborted and counts as the JWKS being unreachable (ms). */
  timeout?: number
  /** Told once when the JWKS becomes unreachable, and once when it answers again. */
  onAvailabilityChange?: (available: boolean, error?: unknown) => void
  /** What the refetch interval is measured by (Unix ms); default the system clock. */
  clock?: { now (): number }
}

export interface KeySource {
  keyFor (header: { alg: Algorithm, kid: string }): Promise<string>
  /** Fetches the JWKS now (subject to `refetchInterval`); never rejects. */
  refresh (): Promise<void>
  /** Starts the background refresh. */
  start (): void
  stop (): void
}

/**
 * Verification keys from a remote JWKS through jose's remote key set, which
 * fetches (with a real timeout), caches and selects keys by `alg` and `kid`.
 * Around it: the whole set is cached and refreshed in the background, so a
 * `next` key is known before it signs; keys already held keep verifying
 * while the JWKS is unreachable; and tokens naming an unknown `kid` trigger at
 * most one fetch per `refetchInterval`, so random `kid`s cannot flood the
 * JWKS server nor hold up requests with known keys.
 */
export function createJwksKeySource (options: JwksKeySourceOptions): KeySource {
  const refetchInterval = options.refetchInterval ?? 5_000
  const clock = options.clock ?? { now: () => Date.now() }
  // The set changes only through `refresh` below: jose never refetches on its own.
  const keySet = createRemoteJWKSet(new URL(options.jwksUrl), {
    timeoutDuration: options.timeout ?? 5_000,
    cacheMaxAge: Infinity,
    cooldownDuration: Infinity
  })
  const pems = new WeakMap<object, string>()
  let lastAttempt = -Infinity
  let pending: Promise<void> | undefined
  let available = true
  let timer: NodeJS.Timeout | undefined

  function setAvailable (now: boolean, error?: unknown) {
    if (now === available) return
    available = now
    options.onAvailabilityChange?.(now, error)
  }

  function refresh (): Promise<void> {
    if (pending !== undefined) return pending
    const now = clock.now()
    if (now - lastAttempt < refetchInterval) return Promise.resolve()
    lastAttempt = now
    pending = keySet.reload()
      .then(() => setAvailable(true), (error: unknown) => setAvailable(false, error))
      .finally(() => { pending = undefined })
    return pending
  }

  /** The cached key for the header, undefined when the set has none. */
  async function cachedKey (header: { alg: Algorithm, kid: string }): Promise<string | undefined> {
    if (keySet.jwks() === undefined) return undefined
    let key: Awaited<ReturnType<typeof keySet>>
    try {
      key = await keySet(header)
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey) return undefined
      // Several keys under one kid, or a published key unusable for this alg: it verifies nothing.
      throw new UnknownKeyError()
    }
    let pem = pems.get(key)
    if (pem === undefined) {
      pem = KeyObject.from(key).export({ type: 'spki', format: 'pem' }).toString()
      pems.set(key, pem)
    }
    return pem
  }

  return {
    async keyFor (header) {
      const known = await cachedKey(header)
      if (known !== undefined) return known
      await refresh()
      const fetched = await cachedKey(header)
      if (fetched !== undefined) return fetched
      throw available ? new UnknownKeyError() : new KeysUnavailableError()
    },
    refresh,
    start () {
      timer = setInterval(() => refresh(), options.refreshInterval ?? 60_000)
      timer.unref()
    },
    stop () {
      clearInterval(timer)
    }
  }
}
