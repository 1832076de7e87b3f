import { Writable } from 'node:stream'
import Fastify from 'fastify'
import { pino } from 'pino'
import { test } from 'tap'
import { loggerOptions } from '../../../src/server/logger.js'

/** A pino logger built from loggerOptions, writing its JSON lines into an array. */
function capture (level = 'info') {
  const lines: Record<string, unknown>[] = []
  const raw: string[] = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      raw.push(chunk.toString())
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>)
      done()
    }
  })
  return { log: pino(loggerOptions(level, false), stream), lines, raw: () => raw.join('') }
}

test('pretty output uses the pino-pretty transport', async t => {
  t.match(loggerOptions('debug', true), { level: 'debug', transport: { target: 'pino-pretty' } })
})

test('plain output has no transport, so lines stay pino JSON', async t => {
  const made = loggerOptions('warn', false)
  t.equal(made.level, 'warn')
  t.equal(made.transport, undefined)
})

test('the level is applied: lines below it are not written', async t => {
  const { log, lines } = capture('warn')
  log.info('quiet')
  log.warn('loud')
  t.same(lines.map(l => l.msg), ['loud'])
})

test('an authorization header is censored', async t => {
  const { log, lines, raw } = capture()
  log.info({ headers: { authorization: 'Bearer secret-jwt', host: 'x' } }, 'headers')
  log.info({ res: { headers: { 'set-cookie': 'sid=cookie-value' } } }, 'reply headers')
  t.match(lines[0], { headers: { authorization: '[redacted]', host: 'x' } })
  t.match(lines[1], { res: { headers: { 'set-cookie': '[redacted]' } } })
  t.notMatch(raw(), /secret-jwt|cookie-value/)
})

test('a logged request keeps method and path but never its headers or query string', async t => {
  const { log, lines, raw } = capture()
  const socket = { remotePort: 40000 }
  log.info({ req: { method: 'GET', url: '/auth/me?access_token=abc', host: 'gate.example', ip: '192.0.2.1', socket, headers: { authorization: 'Bearer secret-jwt' } } }, 'with query')
  log.info({ req: { method: 'POST', url: '/auth/login', host: 'gate.example', ip: '192.0.2.1', socket } }, 'plain')
  t.same(lines[0]?.req, { method: 'GET', url: '/auth/me?[redacted]', host: 'gate.example', remoteAddress: '192.0.2.1', remotePort: 40000 })
  t.same(lines[1]?.req, { method: 'POST', url: '/auth/login', host: 'gate.example', remoteAddress: '192.0.2.1', remotePort: 40000 })
  t.notMatch(raw(), /abc|secret-jwt/)
})

test('a token sent in the query string of a real request never reaches the Fastify log', async t => {
  const raw: string[] = []
  const stream = new Writable({ write (chunk: Buffer, _encoding, done) { raw.push(chunk.toString()); done() } })
  const app = Fastify({ logger: { ...loggerOptions('info', false), stream } })
  t.teardown(() => app.close())
  app.get('/auth/me', async () => ({ ok: true }))
  const reply = await app.inject({ method: 'GET', url: '/auth/me?access_token=abc', headers: { authorization: 'Bearer secret-jwt' } })
  t.equal(reply.statusCode, 200)
  const incoming = raw.map(l => JSON.parse(l) as { msg?: string, req?: unknown }).find(l => l.msg === 'incoming request')
  t.match(incoming, { req: { method: 'GET', url: '/auth/me?[redacted]' } }, 'the request is logged, its query censored')
  t.notMatch(raw.join(''), /abc|secret-jwt/)
})

test('password and token fields are censored at the top level and one level down', async t => {
  const { log, lines, raw } = capture()
  log.info({ password: 'pw-top', refresh_token: 'rt-top', access_token: 'at-top' }, 'top')
  log.info({ body: { email: 'a@example.com', password: 'pw-nested', refresh_token: 'rt-nested', access_token: 'at-nested' } }, 'nested')
  t.match(lines[0], { password: '[redacted]', refresh_token: '[redacted]', access_token: '[redacted]' })
  t.match(lines[1], { body: { email: 'a@example.com', password: '[redacted]', refresh_token: '[redacted]', access_token: '[redacted]' } })
  t.notMatch(raw(), /pw-top|rt-top|at-top|pw-nested|rt-nested|at-nested/)
})
