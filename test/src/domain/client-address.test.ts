import { test } from 'tap'
import { clientKey } from '../../../src/domain/client-address.js'

test('IPv4 addresses are their own key', async (t) => {
  t.equal(clientKey('192.0.2.7'), '192.0.2.7')
  t.equal(clientKey('127.0.0.1'), '127.0.0.1')
})

test('IPv4-mapped IPv6 addresses count as the IPv4 address', async (t) => {
  t.equal(clientKey('::ffff:192.0.2.7'), '192.0.2.7')
  t.equal(clientKey('::FFFF:192.0.2.7'), '192.0.2.7')
})

test('IPv6 addresses of one /64 share a key, other /64s do not', async (t) => {
  const a = clientKey('2001:db8:1:2::1')
  t.equal(a, '2001:0db8:0001:0002::/64')
  t.equal(clientKey('2001:db8:1:2:ffff:ffff:ffff:ffff'), a)
  t.equal(clientKey('2001:0DB8:0001:0002:0:0:0:9'), a, 'case and zero-padding do not matter')
  t.not(clientKey('2001:db8:1:3::1'), a)
  t.equal(clientKey('::1'), '0000:0000:0000:0000::/64')
  t.equal(clientKey('fe80::'), 'fe80:0000:0000:0000::/64')
  t.equal(clientKey('2001:db8::'), '2001:0db8:0000:0000::/64')
})
