import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { scratchDir } from '../../helpers/scratch.js'
import { builtServer, REPO_ROOT } from '../../helpers/server-process.js'

const run = promisify(execFile)

// The fixtures import 'gatehouse' and 'gatehouse/server', which resolve to the
// built declarations in dist/: `npm test` builds them first.
builtServer()

const FIXTURES = ['consumer.ts', 'server-consumer.ts']
const here = join(REPO_ROOT, 'test', 'package', 'types')
const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc')

// A marker over code that typechecks: the compiler must report the marker
// itself (TS2578), which is what makes every marker in the fixtures a check.
const CONTROL = `import gatehouse from 'gatehouse'
// @ts-expect-error nothing here is wrong
export const plugin = gatehouse
`

interface Compile { code: number, output: string }

async function typecheck (project: string): Promise<Compile> {
  try {
    const { stdout } = await run(process.execPath, [tsc, '--noEmit', '--pretty', 'false', '-p', project], { cwd: REPO_ROOT })
    return { code: 0, output: stdout }
  } catch (error) {
    const failed = error as { code: number, stdout: string }
    return { code: failed.code, output: failed.stdout }
  }
}

// One compilation (tsc is the slow part) of the fixtures and the control,
// made inside the repository so 'gatehouse' resolves to this package.
const compiled = (async () => {
  const dir = scratchDir(import.meta.url)
  await writeFile(join(dir, 'control.ts'), CONTROL)
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({
    extends: join(REPO_ROOT, 'tsconfig.json'),
    compilerOptions: { noEmit: true },
    // Without this the repository's own include list, inherited, joins the compile.
    include: [],
    files: [...FIXTURES.map(fixture => join(here, fixture)), join(dir, 'control.ts')]
  }))
  const result = await typecheck(join(dir, 'tsconfig.json'))
  const errors = [...result.output.matchAll(/([\w-]+\.ts)\((\d+),\d+\): error (TS\d+)/g)].map(([, file, line, code]) => `${file}:${line} ${code}`)
  return { result, errors }
})()

t.test('code that uses the plugins as documented typechecks against the built declarations', async t => {
  const { errors } = await compiled
  t.same(errors.filter(error => FIXTURES.some(fixture => error.startsWith(`${fixture}:`))), [],
    'no error in the fixtures, and so every @ts-expect-error in them marks a line the types refuse')
})

t.test('an @ts-expect-error over correct code fails the compile', async t => {
  const { result, errors } = await compiled
  t.not(result.code, 0, 'the compiler fails')
  t.same(errors, ['control.ts:2 TS2578'], 'on the control\'s unused marker, and nothing else')
  t.equal(result.output.match(/error TS\d+/g)?.length, 1, 'not even an error outside any file')
})

t.test('the fixtures mark the misuses they refuse', async t => {
  for (const fixture of FIXTURES) {
    const source = await readFile(join(here, fixture), 'utf8')
    t.ok((source.match(/^\s*\/\/ @ts-expect-error \S/gm) ?? []).length >= 5, `${fixture} marks misuses, each with its reason`)
  }
})
