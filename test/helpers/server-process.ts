import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

interface Teardown { teardown (fn: () => unknown): void }

/** The folder holding package.json, whether this file runs as test/helpers/*.ts or compiled in dist/test/helpers/. */
export const REPO_ROOT = findRepoRoot(dirname(fileURLToPath(import.meta.url)))

function findRepoRoot (dir: string): string {
  if (existsSync(join(dir, 'package.json'))) return dir
  const parent = dirname(dir)
  if (parent === dir) throw new Error('no package.json above the test helpers')
  return findRepoRoot(parent)
}

/** Cheap argon2 parameters for the spawned servers. */
export const PROCESS_ENV = {
  HOST: '127.0.0.1',
  PORT: '0',
  ARGON2_MEMORY_COST: '8192',
  ARGON2_TIME_COST: '1'
}

const START_TIMEOUT = 20_000
const EXIT_TIMEOUT = 15_000

/**
 * The compiled entry point `npm start` runs. `npm test` builds it before tap
 * runs; alone, run `npm run build:test` first.
 */
export function builtServer (): string {
  return builtModule('dist/src/server/server.js')
}

/** The absolute path of a file `npm run build` makes (`path` from the repository root); throws naming the build when it is missing. */
export function builtModule (path: string): string {
  const file = join(REPO_ROOT, ...path.split('/'))
  if (!existsSync(file)) throw new Error(`${path} is missing: run \`npm run build\` first`)
  return file
}

export interface Exit { code: number | null, signal: NodeJS.Signals | null }

export interface RunningServer {
  /** `http://127.0.0.1:<port>`, taken from the server's own log line. */
  url: string
  child: ChildProcess
  /** Everything written to stdout so far. */
  stdout (): string
  /** Everything written to stderr so far. */
  stderr (): string
  /** Sends `signal` and resolves with how the process ended (SIGKILL after a timeout). */
  stop (signal?: NodeJS.Signals): Promise<Exit>
}

/** Only what is given plus PATH: nothing from the test runner's environment leaks in. */
function processEnv (env: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '', ...env }
}

/** Resolves with how the process ended; SIGKILLs it and rejects if that takes longer than `timeout`. */
function waitForExit (child: ChildProcess, closed: Promise<Exit>, timeout: number): Promise<Exit> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`process ${child.pid} did not exit within ${timeout} ms`))
    }, timeout)
  })
  return Promise.race([closed, expired]).finally(() => clearTimeout(timer))
}

function spawnServer (t: Teardown, serverJs: string, env: Record<string, string>, cwd: string) {
  const child = spawn(process.execPath, [serverJs], { cwd, env: processEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  // 'close' comes after 'exit' and after both pipes are drained.
  const closed = new Promise<Exit>(resolve => child.once('close', (code, signal) => resolve({ code, signal })))
  return { child, closed, stdout: () => stdout, stderr: () => stderr }
}

const LISTENING = /"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/

/** Starts `node <serverJs>` and resolves once it logs the address it listens on. */
export async function startServer (t: Teardown, serverJs: string, env: Record<string, string>, cwd = REPO_ROOT): Promise<RunningServer> {
  const { child, closed, stdout, stderr } = spawnServer(t, serverJs, env, cwd)

  const url = await new Promise<string>((resolve, reject) => {
    const fail = (why: string) => {
      cleanup()
      child.kill('SIGKILL')
      reject(new Error(`${why}\nstdout: ${stdout()}\nstderr: ${stderr()}`))
    }
    const timer = setTimeout(() => fail(`server did not start within ${START_TIMEOUT} ms`), START_TIMEOUT)
    const onData = () => {
      const match = LISTENING.exec(stdout())
      if (match?.[1]) {
        cleanup()
        resolve(match[1])
      }
    }
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => fail(`server exited with ${signal ?? code} before listening`)
    const cleanup = () => {
      clearTimeout(timer)
      child.stdout?.off('data', onData)
      child.off('exit', onExit)
    }
    child.stdout?.on('data', onData)
    child.once('exit', onExit)
  })

  return {
    url,
    child,
    stdout,
    stderr,
    stop (signal = 'SIGTERM') {
      child.kill(signal)
      return waitForExit(child, closed, EXIT_TIMEOUT)
    }
  }
}

/** Runs `node <serverJs>` expecting it to exit by itself (a refused configuration). */
export async function runToExit (t: Teardown, serverJs: string, env: Record<string, string>, cwd = REPO_ROOT) {
  const { child, closed, stdout, stderr } = spawnServer(t, serverJs, env, cwd)
  const exit = await waitForExit(child, closed, START_TIMEOUT)
  return { ...exit, stdout: stdout(), stderr: stderr() }
}

export interface ServerReply { status: number, headers: Headers, body: Record<string, unknown> }

/**
 * One request to a spawned server over real HTTP, bounded by a timeout. `body`
 * is sent as JSON; `rawBody` as it is (for malformed JSON); `token` as a bearer.
 */
export async function callServer (server: RunningServer, method: string, path: string, options: { body?: unknown, rawBody?: string, token?: string } = {}): Promise<ServerReply> {
  const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body))
  const headers: Record<string, string> = {}
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
  const response = await fetch(server.url + path, { method, headers, body, signal: AbortSignal.timeout(10_000) })
  const text = await response.text()
  return { status: response.status, headers: response.headers, body: text === '' ? {} : JSON.parse(text) as Record<string, unknown> }
}
