// The servers bench/instructions.js counts, chosen by TARGET, listening on PORT.
// Under valgrind a request takes about 50 times longer: Gatehouse gets a clock
// and intervals slowed by SLOW, so its time-driven work (key reload,
// revocation sync, user re-reads) costs each request what it would natively.
import Fastify from 'fastify'

const target = process.env.TARGET
const port = Number(process.env.PORT)
const SLOW = Number(process.env.SLOW ?? 50)
const message = { message: 'Hello, user0@bench.example!' }

async function fastify (features) {
  const app = Fastify({ logger: features.includes('log') ? { level: 'warn' } : false })
  const admitted = Promise.resolve(undefined)
  const options = {}
  if (features.includes('hook')) options.onRequest = () => admitted
  if (features.includes('schema')) {
    options.schema = { response: { 200: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'], additionalProperties: false } } }
  }
  app.get('/', options, async () => message)
  return app
}

async function gatehouse () {
  const { buildServer } = await import('../dist/src/server/build.js')
  const { parseConfig } = await import('../dist/src/server/config.js')
  const start = Date.now()
  const clock = { now: () => start + (Date.now() - start) / SLOW }
  const timings = { keyReloadInterval: 5_000 * SLOW, revocationSyncInterval: 1_000 * SLOW, pruneInterval: 3_600_000 * SLOW, readyTimeout: 2_000 * SLOW }
  return buildServer(parseConfig(process.env), { clock, timings, ...(target === 'gatehouse-nolog' ? { logger: false } : {}) })
}

const app = target.startsWith('gatehouse') ? await gatehouse() : await fastify(target.split('+').slice(1))
await app.listen({ host: '127.0.0.1', port })
process.on('SIGTERM', () => process.exit(0))
