import t from 'tap'
import { allTestFiles, SUITES, suiteFiles, type SuiteName } from './helpers/suites.js'

t.test('every test file runs in exactly one suite', async t => {
  const inSuites = (Object.keys(SUITES) as SuiteName[]).flatMap(name => suiteFiles(name))
  t.ok(inSuites.includes('suites.test.js'), 'this file too')
  t.ok(inSuites.includes('routes/auth/login.test.js'), 'and files in subfolders')
  t.same(inSuites.slice().sort(), allTestFiles(), 'each file once, none left out')
})
