import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { REPO_ROOT } from './server-process.js'

/**
 * A folder of one test file's own (pass its `import.meta.url`), inside the
 * repository's git-ignored .tap folder so package imports from it resolve to
 * this package, removed when the process's tests end. A top-level
 * `t.testdir()` would hand every file of a suite the same folder.
 */
export function scratchDir (testFileUrl: string): string {
  const parent = join(REPO_ROOT, '.tap', 'scratch')
  mkdirSync(parent, { recursive: true })
  const dir = mkdtempSync(join(parent, `${basename(fileURLToPath(testFileUrl), '.js')}-`))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}
