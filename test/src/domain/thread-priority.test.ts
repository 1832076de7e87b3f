import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { getPriority } from 'node:os'
import { test, type Test } from 'tap'
import { lowerThreads, ownThreads } from '../../../src/domain/thread-priority.js'

// Above the largest pid_max Linux allows (2^22): no thread has it.
const GONE = 2 ** 22 + 1

async function sleeper (t: Test): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
  t.teardown(() => child.kill())
  await once(child, 'spawn')
  return child.pid as number
}

// Lowering is allowed to anyone; one step below this process shows the call took effect.
const lower = getPriority() + 1

test('a thread gone since the listing is passed over, and the threads after it are still lowered', { skip: lower > 19 && 'this process already runs at the lowest priority' }, async (t) => {
  const pid = await sleeper(t)
  t.equal(getPriority(pid), getPriority(), 'started at our priority')
  t.throws(() => getPriority(GONE), /ESRCH/, 'GONE names no thread')
  lowerThreads(lower, [GONE, pid])
  t.equal(getPriority(pid), lower)
})

test('any other failure is thrown: the process must not go on at its priority', async (t) => {
  const pid = await sleeper(t)
  t.throws(() => lowerThreads(100, [pid]), { code: 'ERR_OUT_OF_RANGE' })
  t.equal(getPriority(pid), getPriority(), 'left as it was')
})

test('the threads listed are this process\'s own', { skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
  const threads = ownThreads()
  t.ok(threads.includes(process.pid), 'the main thread has the process id')
  t.ok(threads.every(thread => Number.isInteger(thread) && thread > 0), 'thread ids')
})
