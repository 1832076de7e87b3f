// `npm run bench:instructions`: CPU instructions per protected GET / request,
// counted by valgrind's callgrind, for Gatehouse and for bare Fastify with
// Gatehouse's framework features added one at a time. The event loop's counts
// move by about 1 % between runs, where req/s moves by a fifth here; they miss
// cache misses and stalls, which req/s ratios include. See bench/README.md.
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync, readdirSync, rmSync, mkdirSync } from 'node:fs'
import http from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { installDebianCommand, peersDir } from './setup-peers.js'
import { startFlags } from './start-flags.js'

const here = (p) => fileURLToPath(new URL(p, import.meta.url))
const WARM = Number(process.env.INSTR_WARM ?? 100_000)
const COUNTED = Number(process.env.INSTR_REQUESTS ?? 30_000)
const USERS = 100
const PASSWORD = 'bench-password-1234'
const PORT = 3930
const dir = `${peersDir}instructions/`
// Also known to bench/instructions-server.js: fastify+log, fastify+log+hook.
const TARGETS = (process.env.INSTR_TARGETS ?? 'fastify,fastify+log+hook+schema,gatehouse-nolog,gatehouse').split(',')

installDebianCommand('callgrind_control', 'valgrind')

rmSync(dir, { recursive: true, force: true })
mkdirSync(dir, { recursive: true })
const env = { ...process.env, DATABASE_URL: `sqlite:${dir}gatehouse.db`, PORT: String(PORT), LOG_LEVEL: 'warn', ACCESS_TOKEN_TTL: '14400', RATE_LIMIT_MAX: '10000000', LOGIN_MAX_ATTEMPTS: '1000000' }

async function untilUp (child) {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`${child.spawnargs.join(' ')} exited`)
    try { await fetch(`http://127.0.0.1:${PORT}/`); return } catch {}
    await sleep(500)
  }
  throw new Error('the server did not start')
}

async function stop (child) {
  child.kill('SIGTERM')
  if (child.exitCode === null) await once(child, 'exit')
}

// Users and their tokens, from Gatehouse run natively on the database the counted run reuses.
const setup = spawn(process.execPath, [here('./instructions-server.js')], { env: { ...env, TARGET: 'gatehouse', SLOW: '1' }, stdio: 'inherit' })
await untilUp(setup)
const tokens = []
const post = (path, body) => fetch(`http://127.0.0.1:${PORT}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
for (let i = 0; i < USERS; i++) {
  const user = { email: `user${i}@bench.example`, password: PASSWORD }
  await post('/auth/signup', user)
  tokens.push((await (await post('/auth/login', user)).json()).access_token)
}
await stop(setup)

/** `count` GET / requests with the tokens, 8 at a time over keep-alive connections. */
async function drive (count) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 })
  let sent = 0
  let refused = 0
  const one = () => new Promise((resolve, reject) => {
    const token = tokens[sent++ % tokens.length]
    http.get({ host: '127.0.0.1', port: PORT, path: '/', agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      if (res.statusCode !== 200) refused++
      res.resume()
      res.on('end', resolve)
    }).on('error', reject)
  })
  const more = () => sent < count
  await Promise.all(Array.from({ length: 8 }, async () => { while (more()) await one() }))
  agent.destroy()
  if (refused > 0) throw new Error(`${refused} requests were refused`)
}

const control = (pid, ...args) => spawnSync('callgrind_control', [...args, String(pid)], { stdio: 'ignore' })

async function count (target) {
  const out = `${dir}${target}.out`
  const flags = target.startsWith('gatehouse') ? startFlags() : []
  const child = spawn('valgrind', ['--tool=callgrind', '--instr-atstart=no', '--separate-threads=yes', `--callgrind-out-file=${out}`, process.execPath, ...flags, here('./instructions-server.js')], {
    env: { ...env, TARGET: target }, stdio: ['ignore', 'ignore', 'ignore']
  })
  await untilUp(child)
  await drive(WARM)
  control(child.pid, '-i', 'on')
  await drive(COUNTED)
  control(child.pid, '-i', 'off')
  control(child.pid, '-d')
  await sleep(1000)
  await stop(child)
  // The dump (.1) holds the counted requests, a file per thread: -01 is the
  // event loop's. The others are V8's compiler and GC helpers and libuv's pool.
  const dumps = readdirSync(dir).filter((f) => f.startsWith(`${target}.out.1-`)).sort()
  const totals = dumps.map((f) => Number(/^totals: (\d+)/m.exec(readFileSync(dir + f, 'utf8'))?.[1] ?? 0))
  return { eventLoop: totals[0] / COUNTED, all: totals.reduce((a, b) => a + b, 0) / COUNTED }
}

const results = []
const f0 = (x) => Math.round(x).toLocaleString('en-US')
console.log(`instructions per request (${WARM} requests of warm-up, ${COUNTED} counted, ${USERS} users' tokens round-robin)`)
console.log(`${'target'.padEnd(26)} ${'event loop'.padStart(10)} ${'all threads'.padStart(11)}   bare Fastify / target (event loop; all)`)
for (const target of TARGETS) {
  const counted = await count(target)
  results.push({ target, ...counted })
  const base = results[0]
  console.log(`${target.padEnd(26)} ${f0(counted.eventLoop).padStart(10)} ${f0(counted.all).padStart(11)}   ${(base.eventLoop / counted.eventLoop).toFixed(3)}; ${(base.all / counted.all).toFixed(3)}`)
}
