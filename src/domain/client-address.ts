import { isIPv6 } from 'node:net'

/**
 * The key limits count a client under: its IPv4 address, or the /64 of its
 * IPv6 address (one host is routinely given a whole /64, so counting each
 * address apart would give it billions of fresh limits).
 */
export function clientKey (ip: string): string {
  if (!isIPv6(ip)) return ip
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  if (mapped?.[1]) return mapped[1]
  const [head = '', tail = ''] = ip.toLowerCase().split('::')
  const left = head === '' ? [] : head.split(':')
  const right = ip.includes('::') ? (tail === '' ? [] : tail.split(':')) : []
  const groups = [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
  return `${groups.slice(0, 4).map(g => g.padStart(4, '0')).join(':')}::/64`
}
