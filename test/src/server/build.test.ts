import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import { test } from 'tap'
import { systemClock } from '../../../src/domain/clock.js'
import { KEY_RELOAD_INTERVAL_MS } from '../../../src/domain/keys.js'
import { DEFAULT_TIMINGS } from '../../../src/server/timings.js'
import { build } from '../../helpers/build.js'
import { testClock } from '../../helpers/clock.js'

async function rawExchange (port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request))
    let data = ''
    socket.setEncoding('utf8').on('data', chunk => { data += chunk })
    socket.on('close', () => resolve(data)).on('error', reject)
    socket.setTimeout(5000, () => { socket.destroy(); reject(new Error('no reply')) })
  })
}

async function listening (t: Parameters<typeof build>[0]) {
  const app = await build(t)
  await app.listen({ host: '127.0.0.1', port: 0 })
  return (app.server.address() as AddressInfo).port
}

function bodyOf (response: string) {
  return JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>
}

test('a request that is not valid HTTP gets 400 in the contract shape', async (t) => {
  const port = await listening(t)
  const response = await rawExchange(port, 'THIS IS NOT HTTP\r\n\r\n')
  t.match(response, /^HTTP\/1\.1 400 Bad Request\r\n/)
  t.same(bodyOf(response), { statusCode: 400, error: 'Bad Request', code: 'invalid_request', message: 'The request is not valid HTTP' })
})

test('oversized request headers get 431 in the contract shape', async (t) => {
  const port = await listening(t)
  const response = await rawExchange(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)
  t.match(response, /^HTTP\/1\.1 431 /)
  t.same(bodyOf(response), { statusCode: 431, error: 'Request Header Fields Too Large', code: 'invalid_request', message: 'The request headers are too large' })
})

test('a malformed percent-escape in the URL is 400 invalid_request, not a framework code', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'GET', url: '/auth/sessions/%zz' })
  t.equal(res.statusCode, 400)
  t.same(res.json(), { statusCode: 400, error: 'Bad Request', code: 'invalid_request', message: 'The URL is not valid' })
})

test('a path parameter longer than the router allows is 404 not_found', async (t) => {
  const app = await build(t)
  const res = await app.inject({ method: 'DELETE', url: `/auth/sessions/${'a'.repeat(150)}` })
  t.equal(res.statusCode, 404)
  t.same(res.json(), { statusCode: 404, error: 'Not Found', code: 'not_found', message: 'No such endpoint' })
})

test('without clock or timings the app runs on the system clock and the production intervals', async (t) => {
  const app = await build(t)
  t.equal(app.clock, systemClock)
  t.strictSame(app.timings, DEFAULT_TIMINGS)
  t.strictSame(DEFAULT_TIMINGS, { keyReloadInterval: KEY_RELOAD_INTERVAL_MS, revocationSyncInterval: 1000, pruneInterval: 3600_000, readyTimeout: 2000 })
})

test('timings given override only the intervals they name', async (t) => {
  const clock = testClock()
  const app = await build(t, {}, { clock, timings: { readyTimeout: 50 } })
  t.equal(app.clock, clock)
  t.strictSame(app.timings, { ...DEFAULT_TIMINGS, readyTimeout: 50 })
})
