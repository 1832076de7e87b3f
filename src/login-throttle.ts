export interface LoginThrottle {
  /** Seconds until the pair may try again, or 0 when it may try now. */
  retryAfter (email: string, ip: string, now?: number): number
  recordFailure (email: string, ip: string, now?: number): void
  recordSuccess (email: string, ip: string): void
}

interface Window { failures: number, startedAt: number }

/**
 * Counts failed logins per (email, client address) in fixed windows that
 * start at the first failure. Held in memory; bounded by pruning expired
 * windows and, past `maxEntries`, the oldest ones.
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
    for (const [key, entry] of windows) {
      if (now - entry.startedAt >= windowMs || windows.size > maxEntries) windows.delete(key)
      else break // insertion order is start order, so the rest are newer
    }
  }

  return {
    retryAfter (email, ip, now = Date.now()) {
      const entry = current(keyOf(email, ip), now)
      if (!entry || entry.failures < options.maxAttempts) return 0
      return Math.max(1, Math.ceil((entry.startedAt + windowMs - now) / 1000))
    },
    recordFailure (email, ip, now = Date.now()) {
      const key = keyOf(email, ip)
      const entry = current(key, now)
      if (entry) entry.failures++
      else {
        prune(now)
        windows.set(key, { failures: 1, startedAt: now })
      }
    },
    recordSuccess (email, ip) {
      windows.delete(keyOf(email, ip))
    }
  }
}
