import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { getPriority } from 'node:os'
import { test } from 'tap'
import { lowerThreads, ownThreads } from '../../../src/domain/thread-priority.js'

// Above the largest pid_max Linux allows (2^22): no thread has it.
const GONE = 2 ** 22 + 1

test('a thread gone since the listing is passed over, and the threads after it are still lowered', async (t) => {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
  t.teardown(() => child.kill())
  await once(child, 'spawn')
  const pid = child.pid as number
  t.equal(getPriority(pid), getPriority(), 'started at our priority')
  t.throws(() => getPriority(GONE), /ESRCH/, 'GONE names no thread')
  lowerThreads(17, [GONE, pid])
  t.equal(getPriority(pid), 17)
})

test('the threads listed are this process\'s own', { skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
  const threads = ownThreads()
  t.ok(threads.includes(process.pid), 'the main thread has the process id')
  t.ok(threads.every(thread => Number.isInteger(thread) && thread > 0), 'thread ids')
})
