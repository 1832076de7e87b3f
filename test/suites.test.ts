import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { allTestFiles, SUITES, suiteFiles, TEST_ROOT, type SuiteName } from './helpers/suites.js'

t.test('every test file runs in exactly one suite', async t => {
  const inSuites = (Object.keys(SUITES) as SuiteName[]).flatMap(name => suiteFiles(name))
  t.ok(inSuites.includes('suites.test.js'), 'this file too')
  t.ok(inSuites.includes('routes/auth/login.test.js'), 'and files in subfolders')
  t.same(inSuites.slice().sort(), allTestFiles(), 'each file once, none left out')
})

t.test('every suite has the entry file tap runs, and each entry runs its own suite', async t => {
  const entries = readdirSync(join(TEST_ROOT, 'suites')).filter(file => file.endsWith('.test.js')).sort()
  t.same(entries, Object.keys(SUITES).map(name => `${name}.test.js`).sort(), 'one entry per suite, no other')
  for (const name of Object.keys(SUITES)) {
    t.match(readFileSync(join(TEST_ROOT, 'suites', `${name}.test.js`), 'utf8'), `runSuite('${name}')`, `${name}.test.js runs ${name}`)
  }
})
