import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { getPriority } from 'node:os'
import argon2 from 'argon2'
import { test } from 'tap'
import { DEFAULT_WORKER, HASHING_NICE, HashingJobError, HashingProcess } from '../../../src/domain/hashing-process.js'

const options = { type: argon2.argon2id as 2, memoryCost: 8192, timeCost: 1, parallelism: 1 }
const PASSWORD = 'correct horse battery'

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

test('argon2 runs in another process at the lowest CPU priority, started at the first job', async (t) => {
  const hashing = new HashingProcess(2)
  t.teardown(() => hashing.close())
  t.equal(hashing.pid, undefined, 'nothing runs before a job')
  const hash = await hashing.run({ op: 'hash', password: PASSWORD, options })
  t.match(hash, /^\$argon2id\$/)
  t.equal(await hashing.run({ op: 'verify', hash: hash as string, password: PASSWORD }), true)
  t.equal(await hashing.run({ op: 'verify', hash: hash as string, password: 'wrong password!' }), false)
  const pid = hashing.pid as number
  t.not(pid, process.pid)
  t.equal(getPriority(pid), HASHING_NICE)
  t.equal(getPriority(), 0, 'the server itself keeps its priority')
})

// Field 19 of /proc/<pid>/task/<tid>/stat, counted after the command name (which may hold spaces).
function threadNiceValues (pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map(tid => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19 - 3])
  })
}

test('every thread of the hashing process, the libuv threads that hashed included, runs at nice 19', { skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
  const hashing = new HashingProcess(2)
  t.teardown(() => hashing.close())
  await hashing.run({ op: 'hash', password: PASSWORD, options })
  await hashing.run({ op: 'hash', password: PASSWORD, options })
  const threads = threadNiceValues(hashing.pid as number)
  t.ok(threads.length > 2, 'more threads than the main one')
  t.same(new Set(threads), new Set([HASHING_NICE]))
  t.same(new Set(threadNiceValues(process.pid)), new Set([getPriority()]), 'the server is not lowered')
})

test('the hashing process has as many libuv threads as it was asked for', { skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
  const hashing = new HashingProcess(3)
  t.teardown(() => hashing.close())
  await hashing.run({ op: 'hash', password: PASSWORD, options })
  const environ = readFileSync(`/proc/${hashing.pid as number}/environ`, 'utf8').split('\0')
  t.ok(environ.includes('UV_THREADPOOL_SIZE=3'), 'one per hash run at once, whatever the server was given')
})

test('what argon2 refuses is a HashingJobError', async (t) => {
  const hashing = new HashingProcess(2)
  t.teardown(() => hashing.close())
  await t.rejects(hashing.run({ op: 'verify', hash: 'not-a-hash', password: PASSWORD }), HashingJobError)
})

test('a hashing process that dies fails the jobs it held, and the next job starts another', async (t) => {
  const hashing = new HashingProcess(2)
  t.teardown(() => hashing.close())
  await hashing.run({ op: 'hash', password: PASSWORD, options })
  const first = hashing.pid as number
  const held = hashing.run({ op: 'hash', password: PASSWORD, options: { ...options, timeCost: 50 } })
  process.kill(first, 'SIGKILL')
  await t.rejects(held, { message: 'the password hashing process exited' })
  t.notOk(held instanceof HashingJobError)
  t.match(await hashing.run({ op: 'hash', password: PASSWORD, options }), /^\$argon2id\$/)
  t.not(hashing.pid, first)
})

test('close ends the process, and refuses jobs after it', async (t) => {
  const hashing = new HashingProcess(2)
  await hashing.run({ op: 'hash', password: PASSWORD, options })
  const pid = hashing.pid as number
  await hashing.close()
  t.notOk(alive(pid))
  t.equal(hashing.pid, undefined)
  await t.rejects(hashing.run({ op: 'hash', password: PASSWORD, options }), { message: 'the password hashing process is closed' })
  await hashing.close()
})

test('the worker run is the compiled one, alone: no loader, debugger or profiler of the parent starts with each process', async (t) => {
  t.match(DEFAULT_WORKER, /dist[/\\]src[/\\]domain[/\\]hashing-worker\.js$/)
  const hashing = new HashingProcess(2)
  t.teardown(() => hashing.close())
  await hashing.run({ op: 'hash', password: PASSWORD, options })
  const commandLine = execFileSync('ps', ['-o', 'args=', '-p', String(hashing.pid)], { encoding: 'utf8' }).trim()
  t.equal(commandLine, `${process.execPath} ${DEFAULT_WORKER}`, 'node runs the worker file alone')
})

test('a missing worker is refused when the hashing process is made, naming the build', async (t) => {
  t.throws(() => new HashingProcess(2, '/nowhere/hashing-worker.js'), { message: 'the password hashing worker /nowhere/hashing-worker.js is missing: run `npm run build` first' })
})
