export interface LoginThrottle {
  /**
   * Counts an attempt for the pair before its password is checked, so
   * concurrent guesses cannot all slip under the limit. Returns the seconds
   * until the pair may try again (the attempt is then not counted), or 0.
   */
  reserve (email: string, ip: string, now: number): number
  /** Uncounts a reserved attempt that ended without a password verdict (e.g. 503). */
  release (email: string, ip: string, now: number): void
  /** A correct password: the pair starts afresh. */
  recordSuccess (email: string, ip: string): void
  /** Pairs held (never more than `maxEntries`). */
  readonly size: number
}

interface Window { attempts: number, startedAt: number }

/**
 * Counts failed logins per (email, client address) in fixed windows that
 * start at the first failure. Held in memory; bounded by pruning expired
 * windows and, past `maxEntries`, the oldest windows that block nobody.
 */
export function createLoginThrottle (options: { maxAttempts: number, windowSeconds: number, maxEntries?: number }): LoginThrottle {
  const windowMs = options.windowSeconds * 1000
  const maxEntries = options.maxEntries ?? 100_000
  const windows = new Map<string, Window>()
  const keyOf = (email: string, ip: string) => `${ip}\u0000${email}`

  function current (key: string, now: number): Window | undefined {
    const entry = windows.get(key)
    if (entry && now - entry.startedAt >= windowMs) {
      windows.delete(key)
      return undefined
    }
    return entry
  }

  function prune (now: number) {
    // Insertion order is start order, so expired windows come first.
    for (const [key, entry] of windows) {
      if (now - entry.startedAt < windowMs) break
      windows.delete(key)
    }
    if (windows.size < maxEntries) return
    // A flood of new pairs evicts windows that block nobody first, then the oldest of the rest: the cap holds.
    for (const [key, entry] of windows) {
      if (windows.size < maxEntries) return
      if (entry.attempts < options.maxAttempts) windows.delete(key)
    }
    for (const key of windows.keys()) {
      if (windows.size < maxEntries) break
      windows.delete(key)
    }
  }

  return {
    reserve (email, ip, now) {
      const key = keyOf(email, ip)
      const entry = current(key, now)
      if (entry && entry.attempts >= options.maxAttempts) {
        return Math.max(1, Math.ceil((entry.startedAt + windowMs - now) / 1000))
      }
      if (entry) entry.attempts++
      else {
        prune(now)
        windows.set(key, { attempts: 1, startedAt: now })
      }
      return 0
    },
    release (email, ip, now) {
      const entry = current(keyOf(email, ip), now)
      if (entry) entry.attempts = Math.max(0, entry.attempts - 1)
    },
    recordSuccess (email, ip) {
      windows.delete(keyOf(email, ip))
    },
    get size () {
      return windows.size
    }
  }
}
