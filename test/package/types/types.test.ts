import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { builtServer, REPO_ROOT } from '../../helpers/server-process.js'

const run = promisify(execFile)

// The fixtures import 'gatehouse' and 'gatehouse/server', which resolve to the
// built declarations in dist/: `npm test` builds them first.
builtServer()

const FIXTURES = ['consumer.ts', 'server-consumer.ts']
const here = join(REPO_ROOT, 'test', 'package', 'types')
const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
const MARKER = /^(\s*)\/\/ @ts-expect-error\b.*$/

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

// One compilation (tsc is the slow part) of the fixtures as they are and of
// a copy of each with every marker blanked, made inside the repository so
// 'gatehouse' still resolves to this package. Fixtures are modules: the copies
// cannot change what the originals mean.
const compiled = (async () => {
  const dir = t.testdir()
  const markedLines: string[] = []
  const unmarked = FIXTURES.map(fixture => `unmarked-${fixture}`)
  for (const fixture of FIXTURES) {
    const lines = (await readFile(join(here, fixture), 'utf8')).split('\n')
    const blanked = lines.map((line, index) => {
      if (!MARKER.test(line)) return line
      markedLines.push(`unmarked-${fixture}:${index + 2}`)
      return line.replace(MARKER, '$1//')
    })
    await writeFile(join(dir, `unmarked-${fixture}`), blanked.join('\n'))
  }
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({
    extends: join(REPO_ROOT, 'tsconfig.json'),
    compilerOptions: { noEmit: true },
    files: [...FIXTURES.map(fixture => join(here, fixture)), ...unmarked]
  }))
  const result = await typecheck(join(dir, 'tsconfig.json'))
  const errors = [...result.output.matchAll(/([\w-]+\.ts)\((\d+),\d+\): error TS\d+/g)].map(([, file, line]) => `${file}:${line}`)
  return { result, errors, markedLines }
})()

t.test('code that uses the plugins as documented typechecks against the built declarations', async t => {
  const { errors } = await compiled
  t.same(errors.filter(error => FIXTURES.some(fixture => error.startsWith(`${fixture}:`))), [], 'no error in the fixtures as they are')
})

t.test('each misuse marked @ts-expect-error in the fixtures is a type error without its marker', async t => {
  const { result, errors, markedLines } = await compiled
  t.not(result.code, 0, 'the compiler fails')
  t.ok(markedLines.length >= 10, 'the fixtures mark misuses')
  t.same([...new Set(errors.filter(error => error.startsWith('unmarked-')))].sort(), markedLines.sort(), 'exactly the marked lines fail')
  t.same(errors.filter(error => !error.startsWith('unmarked-') && !FIXTURES.some(fixture => error.startsWith(`${fixture}:`))), [], 'and nothing else')
  t.equal(result.output.match(/error TS\d+/g)?.length, errors.length, 'not even an error outside any file')
})
