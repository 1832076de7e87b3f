import { readdirSync, readFileSync } from 'node:fs'
import { test } from 'tap'
import { HashingProcess } from '../../src/domain/hashing-process.js'
import { buildServer } from '../../src/server/build.js'
import { parseConfig } from '../../src/server/config.js'
import { signedUp } from '../helpers/auth.js'
import { TEST_ENV } from '../helpers/build.js'

/** Pids of this process's children running the hashing worker (Linux's /proc). */
function hashingChildren (): number[] {
  return readdirSync('/proc').filter(entry => /^\d+$/.test(entry)).map(Number).filter(pid => {
    try {
      // Field 4 of /proc/<pid>/stat, after the command name in parentheses, is the parent's pid.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      return parent === process.pid && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('hashing-worker')
    } catch {
      return false // gone while we looked
    }
  })
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const config = () => parseConfig(TEST_ENV)

test('an app starts its own hashing process at the first hash and ends it when it closes', async (t) => {
  const before = hashingChildren()
  const app = await buildServer(config(), { logger: false })
  await app.ready()
  t.same(hashingChildren(), before, 'none before any password is hashed')
  await signedUp(app)
  const started = hashingChildren().filter(pid => !before.includes(pid))
  t.equal(started.length, 1, 'one, at the first signup')
  await app.close()
  t.notOk(alive(started[0] as number), 'gone once the app has closed')
})

test('apps given one hashing process use it and leave it running when they close', async (t) => {
  const hashing = new HashingProcess(2)
  t.teardown(() => hashing.close())
  const before = hashingChildren()
  for (const email of ['ada@example.com', 'grace@example.com']) {
    const app = await buildServer(config(), { logger: false, hashing })
    await signedUp(app, email)
    await app.close()
    t.type(hashing.pid, 'number', 'the given process hashed the password')
    t.ok(alive(hashing.pid as number), `still running after the app of ${email} closed`)
  }
  t.same(hashingChildren().filter(pid => !before.includes(pid)), [hashing.pid], 'and no other was started')
})
