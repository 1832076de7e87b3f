import { Writable } from 'node:stream'
import Fastify, { type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify'
import { pino } from 'pino'
import { test } from 'tap'
import { LevelAwareLogController, lazyChildLoggers, loggerOptions } from '../../../src/server/logger.js'
import { build } from '../../helpers/build.js'

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

test('a lazy child logger becomes a pino child, its bindings bound, only when it writes a line', async t => {
  const { log, lines } = capture('info')
  const pinoChild = log.child
  let made = 0
  log.child = function (this: typeof log, ...args: Parameters<typeof pinoChild>) { made++; return pinoChild.apply(this, args) } as typeof pinoChild
  lazyChildLoggers(log)
  const quiet = log.child({ reqId: 'req-1' }, {})
  quiet.debug('below the level')
  quiet.trace('below the level')
  quiet.silent('never')
  t.equal(made, 0, 'nothing logged, no child made')
  t.equal(quiet.level, 'info', 'the level is the parent\'s')

  const loud = log.child({ reqId: 'req-2' })
  loud.info({ password: 'pw-1' }, 'first')
  loud.warn('second')
  loud.error('third')
  loud.fatal('fourth')
  t.equal(made, 1, 'one child for all its lines')
  t.same(lines.map(l => [l.reqId, l.msg, l.password]), [['req-2', 'first', '[redacted]'], ['req-2', 'second', undefined], ['req-2', 'third', undefined], ['req-2', 'fourth', undefined]])

  loud.level = 'debug'
  loud.debug('now enabled')
  t.equal(loud.level, 'debug')
  t.equal(log.level, 'info', 'a child\'s level change stays with it')
  loud.child({ step: 'inner' }).info('nested')
  t.match(lines.slice(-2), [{ reqId: 'req-2', msg: 'now enabled' }, { reqId: 'req-2', step: 'inner', msg: 'nested' }])

  const raised = log.child({ reqId: 'req-3' })
  raised.level = 'error'
  raised.warn('below its own level')
  t.equal(lines.length, 6, 'a level set on the lazy child applies to it')
})

test('a child with options of its own (a route\'s level or serializers) is a pino child at once', async t => {
  const { log, lines } = capture('info')
  lazyChildLoggers(log)
  log.child({ reqId: 'req-4' }, { level: 'warn' }).info('below the route level')
  log.child({ reqId: 'req-5' }, { serializers: { extra: () => 'serialized' } }).info({ extra: 1 }, 'with serializers')
  t.same(lines.map(l => [l.reqId, l.msg, l.extra]), [['req-5', 'with serializers', 'serialized']])
})

test('Fastify logs a request through a lazy child as it would through its own', async t => {
  const raw: string[] = []
  const stream = new Writable({ write (chunk: Buffer, _encoding, done) { raw.push(chunk.toString()); done() } })
  const root = pino(loggerOptions('info', false), stream)
  lazyChildLoggers(root)
  // As buildServer gives it at info: Fastify's own child of it inherits the lazy `child`.
  const app = Fastify({ loggerInstance: root as FastifyBaseLogger })
  t.teardown(() => app.close())
  app.get('/', async (request) => { request.log.info('in the handler'); return { ok: true } })
  await app.inject({ method: 'GET', url: '/', headers: { authorization: 'Bearer secret-jwt' } })
  const lines = raw.map(l => JSON.parse(l) as { msg?: string, reqId?: string })
  t.same(lines.map(l => l.msg), ['incoming request', 'in the handler', 'request completed'])
  t.ok(lines.every(l => l.reqId === 'req-1'), 'every line carries the request id')
  t.notMatch(raw.join(''), /secret-jwt/)
})

/** A logger at a fixed level that records what reaches it, and a reply that counts reads of its response time. */
function recording (enabled: string[]) {
  const calls: string[] = []
  const log = {
    isLevelEnabled: (level: string) => enabled.includes(level),
    info: (_fields: unknown, msg: string) => { calls.push(`info ${msg}`) },
    error: (_fields: unknown, msg: string) => { calls.push(`error ${msg}`) }
  }
  let timed = 0
  const request = { log } as unknown as FastifyRequest
  const reply = { log, statusCode: 200, get elapsedTime () { timed++; return 3 } } as unknown as FastifyReply
  return { calls, request, reply, timed: () => timed }
}

test('below the info level the request lines are not even built: no call reaches the logger and the request is not timed', async t => {
  const { calls, request, reply, timed } = recording(['warn', 'error', 'fatal'])
  const controller = new LevelAwareLogController()
  controller.incomingRequest(request, reply)
  controller.requestCompleted(null, request, reply)
  t.same(calls, [])
  t.equal(timed(), 0)
  controller.requestCompleted(new Error('socket gone'), request, reply)
  t.same(calls, ['error request errored'], 'a request that ended in an error is logged at the error level')
  t.equal(timed(), 1)
})

test('at the info level both lines are written, as Fastify writes them', async t => {
  const { calls, request, reply } = recording(['info', 'warn', 'error', 'fatal'])
  const controller = new LevelAwareLogController()
  controller.incomingRequest(request, reply)
  controller.requestCompleted(null, request, reply)
  t.same(calls, ['info incoming request', 'info request completed'])
})

test('above the error level not even a failed request is logged', async t => {
  const { calls, request, reply, timed } = recording(['fatal'])
  new LevelAwareLogController().requestCompleted(new Error('socket gone'), request, reply)
  t.same(calls, [])
  t.equal(timed(), 0)
})

test('the completed line follows the reply\'s logger, which writes it', async t => {
  const quiet = recording(['warn'])
  const loud = recording(['info'])
  new LevelAwareLogController().requestCompleted(null, quiet.request, loud.reply)
  t.same(loud.calls, ['info request completed'])
})

test('a built server writes no request line at warn, but does for a route whose own logLevel is info', async t => {
  const raw: string[] = []
  const stream = new Writable({ write (chunk: Buffer, _encoding, done) { raw.push(chunk.toString()); done() } })
  const app = await build(t, { LOG_LEVEL: 'warn' }, {
    logger: { ...loggerOptions('warn', false), stream },
    setup: (app) => { app.get('/chatty', { logLevel: 'info' }, async () => ({ ok: true })) }
  })
  // Fastify keeps the controller under a symbol of its own: the lines alone cannot tell which controller wrote them.
  const controllerKey = Object.getOwnPropertySymbols(app).find(symbol => symbol.description === 'fastify.logController')
  t.type(controllerKey === undefined ? undefined : (app as unknown as Record<symbol, unknown>)[controllerKey], LevelAwareLogController, 'the server uses the level-aware controller')
  await app.inject({ method: 'GET', url: '/' })
  await app.inject({ method: 'GET', url: '/chatty' })
  const lines = raw.map(l => JSON.parse(l) as { msg?: string, req?: { url: string }, responseTime?: number })
  t.same(lines.map(l => l.msg), ['incoming request', 'request completed'])
  t.equal(lines[0]?.req?.url, '/chatty')
  t.type(lines[1]?.responseTime, 'number')
})

test('a logger without levels gets every request line, and drops them itself', async t => {
  const calls: string[] = []
  const log = { info: (_fields: unknown, msg: string) => { calls.push(msg) }, error: (_fields: unknown, msg: string) => { calls.push(msg) } }
  const controller = new LevelAwareLogController()
  controller.incomingRequest({ log } as unknown as FastifyRequest, { log } as unknown as FastifyReply)
  controller.requestCompleted(null, { log } as unknown as FastifyRequest, { log, elapsedTime: 1 } as unknown as FastifyReply)
  t.same(calls, ['incoming request', 'request completed'])
})

function lineStream () {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done() } })
  return { lines, stream }
}

test('above info Fastify gets no logger: no response listeners per request, and requests still log through the server\'s logger with their id', async t => {
  const finishListeners: Record<string, number> = {}
  for (const level of ['warn', 'info'] as const) {
    const { lines, stream } = lineStream()
    const app = await build(t, { LOG_LEVEL: level }, {
      logger: { ...loggerOptions(level, false), stream },
      setup: (app) => {
        app.get('/listeners', async (_request, reply) => ({ finish: reply.raw.listenerCount('finish') }))
        app.get('/broken', async () => { throw new Error('disk on fire') })
      }
    })
    finishListeners[level] = (await app.inject({ method: 'GET', url: '/listeners' })).json<{ finish: number }>().finish
    const broken = await app.inject({ method: 'GET', url: '/broken?access_token=query-secret', headers: { authorization: 'Bearer header-secret' } })
    t.equal(broken.statusCode, 500)
    app.log.warn('from the app')
    const failed = lines.find(l => l.msg === 'request failed')
    t.match(failed, { level: 50, reqId: /^req-/, err: { message: 'disk on fire' } }, `${level}: the error line carries the request id`)
    t.ok(lines.some(l => l.msg === 'from the app' && l.level === 40), `${level}: app.log writes to the same stream`)
    t.equal(lines.some(l => l.msg === 'request completed'), level === 'info', `${level}: request lines only at info`)
    t.notMatch(JSON.stringify(lines), /query-secret|header-secret/, `${level}: no token reaches the log`)
  }
  // inject listens for the end of the reply itself; Fastify adds one more only when it has a logger.
  t.equal(finishListeners.info, (finishListeners.warn ?? NaN) + 1, 'Fastify listens for the end of each reply only at info, to log it')
})

test('above info a route\'s own hooks on response are kept beside the one that writes its completed line', async t => {
  const { lines, stream } = lineStream()
  const ran: string[] = []
  const app = await build(t, { LOG_LEVEL: 'warn' }, {
    logger: { ...loggerOptions('warn', false), stream },
    setup: (app) => {
      app.get('/one', { logLevel: 'info', onResponse: async () => { ran.push('one') } }, async () => ({ ok: true }))
      app.get('/many', { logLevel: 'debug', onResponse: [async () => { ran.push('many') }] }, async () => ({ ok: true }))
      app.get('/loud', { logLevel: 'error' }, async () => ({ ok: true }))
    }
  })
  for (const url of ['/one', '/many', '/loud']) await app.inject({ method: 'GET', url })
  t.same(ran, ['one', 'many'])
  t.same(lines.filter(l => l.msg === 'request completed').length, 2, 'a completed line for /one and /many, none for /loud')
  t.ok(lines.filter(l => l.msg === 'request completed').every(l => typeof l.responseTime === 'number'), 'with the response time')
})

test('a route log level pino does not know is refused when the route is added, with or without Fastify\'s logger', async t => {
  for (const level of ['warn', 'info']) {
    await t.rejects(build(t, { LOG_LEVEL: level }, {
      logger: loggerOptions(level, false),
      // A plain JavaScript caller is not held to the level names TypeScript knows.
      setup: (app) => { app.get('/odd', { logLevel: 'chatty' as 'info' }, async () => ({ ok: true })) }
    }), { code: 'FST_ERR_ROUTE_LOG_LEVEL_INVALID' }, level)
  }
})
