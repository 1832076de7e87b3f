import { readdirSync } from 'node:fs'
import { dirname, join, sep } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import t from 'tap'

/**
 * `npm test` runs the test files in a few processes, one per suite, not one
 * per file: under tap with coverage a Node process costs seconds of CPU before
 * its first assertion, and the files of one suite share it (and one password
 * hashing process). A file still runs alone with `npx tap dist/test/<path>.test.js`.
 * Each suite holds the test files under its folders; `.` holds the files
 * directly in test/. suites.test.ts checks that every file is in exactly one.
 */
export const SUITES = {
  routes: ['routes'],
  plugins: ['plugins', 'services'],
  domain: ['src/domain', 'src/store'],
  verify: ['src/verify'],
  server: ['src/server'],
  processes: ['.'],
  examples: ['examples'],
  package: ['package']
} satisfies Record<string, string[]>

export type SuiteName = keyof typeof SUITES

/** dist/test, where this file runs from. */
export const TEST_ROOT = dirname(dirname(fileURLToPath(import.meta.url)))

/** The test files (paths from test/, compiled) under `folder`; `.` is test/ itself, without its subfolders. */
export function testFilesIn (folder: string): string[] {
  const recursive = folder !== '.'
  return (readdirSync(join(TEST_ROOT, folder), { recursive }) as string[])
    // Fixture folders hold files that tests run, not tests.
    .filter(file => file.endsWith('.test.js') && !file.split(sep).slice(0, -1).some(part => part.startsWith('fixture')))
    .map(file => join(folder, file).split(sep).join('/'))
    .sort()
}

/** Every compiled test file, suites left out: what the suites must hold between them. */
export function allTestFiles (): string[] {
  return testFilesIn('.').concat(...readdirSync(TEST_ROOT, { withFileTypes: true })
    .filter(entry => entry.isDirectory() && entry.name !== 'suites' && entry.name !== 'helpers')
    .map(entry => testFilesIn(entry.name)))
    .sort()
}

/** The files a suite runs, in order. */
export function suiteFiles (name: SuiteName): string[] {
  return SUITES[name].flatMap(folder => testFilesIn(folder))
}

/**
 * Imports a suite's test files one after the other: their tests queue on this
 * process's root test. The root ends as soon as its queue is empty, which can
 * happen while a later file's top level is still awaiting (a server it
 * starts), and that file's tests would then be refused: a first test holds
 * the queue until every file is loaded.
 */
export async function runSuite (name: SuiteName): Promise<void> {
  const files = suiteFiles(name)
  let loaded!: () => void
  const allLoaded = new Promise<void>(resolve => { loaded = resolve })
  t.test(`the ${name} suite loads its test files`, async t => {
    t.ok(files.length > 0, `${files.length} files`)
    await allLoaded
  })
  for (const file of files) {
    try {
      await import(pathToFileURL(join(TEST_ROOT, file)).href)
    } catch (error) {
      // The suite goes on with its other files; this one fails by name.
      t.test(`${file} loads`, async t => { t.error(error) })
    }
  }
  loaded()
}
