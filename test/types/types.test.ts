import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { builtServer, REPO_ROOT } from '../helpers/server-process.js'

const run = promisify(execFile)

// The fixtures import 'gatehouse' and 'gatehouse/server', which resolve to the
// built declarations in dist/: `npm test` builds them first.
builtServer()

const FIXTURES = ['consumer.ts', 'server-consumer.ts']
const here = join(REPO_ROOT, 'test', 'types')
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

t.test('code that uses the plugins as documented typechecks against the built declarations', async t => {
  const result = await typecheck(join(here, 'tsconfig.json'))
  t.equal(result.code, 0, result.output)
})

t.test('each misuse marked @ts-expect-error in the fixtures is a type error without its marker', async t => {
  // The fixtures with every marker blanked, compiled inside the repository so
  // 'gatehouse' still resolves to this package: each marked line must now fail.
  const dir = t.testdir()
  const expected: string[] = []
  for (const fixture of FIXTURES) {
    const lines = (await readFile(join(here, fixture), 'utf8')).split('\n')
    const unmarked = lines.map((line, index) => {
      if (!MARKER.test(line)) return line
      expected.push(`${fixture}:${index + 2}`)
      return line.replace(MARKER, '$1//')
    })
    await writeFile(join(dir, fixture), unmarked.join('\n'))
  }
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({
    extends: join(REPO_ROOT, 'tsconfig.json'),
    compilerOptions: { noEmit: true },
    include: FIXTURES
  }))

  const result = await typecheck(join(dir, 'tsconfig.json'))
  t.not(result.code, 0, 'the compiler fails')
  const failing = [...result.output.matchAll(/([\w-]+\.ts)\((\d+),\d+\): error TS\d+/g)].map(([, file, line]) => `${file}:${line}`)
  t.ok(expected.length >= 10, 'the fixtures mark misuses')
  t.same([...new Set(failing)].sort(), expected.sort(), 'exactly the marked lines fail')
})
