import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export type HashingJob =
  | { id: number, op: 'hash', password: string, options: { type: 2, memoryCost: number, timeCost: number, parallelism: number } }
  | { id: number, op: 'verify', hash: string, password: string }

export type HashingResult = { id: number, value: string | boolean } | { id: number, error: string }

type JobInput = HashingJob extends infer J ? J extends { id: number } ? Omit<J, 'id'> : never : never

const here = fileURLToPath(import.meta.url)
/**
 * The compiled worker: beside this file once built (as the server and the
 * tests run). Run from source (through tsx), it is the one `npm run build`
 * put in dist/: a TypeScript loader would cost each process more to start
 * than the hashing it does. Nothing of the parent's command line carries over
 * either: its loaders, debugger or profiler would slow or clash.
 */
// The other branch runs only from source, which the tests (compiled) never do.
/* c8 ignore next 3 */
export const DEFAULT_WORKER = here.endsWith('.ts')
  ? join(dirname(here), '..', '..', 'dist', 'src', 'domain', 'hashing-worker.js')
  : join(dirname(here), 'hashing-worker.js')

/** What argon2 itself refused (a malformed stored hash, say), as opposed to the hashing process failing. */
export class HashingJobError extends Error {
  override name = 'HashingJobError'
}

/** Nice value of the hashing process: the lowest CPU priority. */
export const HASHING_NICE = 19

/**
 * argon2 in a process of its own, which lowers every thread it has to the
 * lowest CPU priority once it has started (see hashing-worker.ts). A core
 * shared by the event loop and password hashing then always runs the event
 * loop first: a login flood cannot delay token checks. Started at the first
 * job; a process that dies fails the jobs it held and is replaced at the next one.
 *
 * Its libuv pool has `threads` threads, as many as the hashes the caller runs
 * at once: each thread that ever hashed keeps its malloc arena, an argon2
 * block of memory (19 MiB by default) included, so four threads for two
 * hashes at a time held 80 MB where two hold 40.
 */
export class HashingProcess {
  readonly #worker: string
  readonly #threads: number
  #child: ChildProcess | undefined
  readonly #pending = new Map<number, { resolve: (value: string | boolean) => void, reject: (error: Error) => void }>()
  #nextId = 0
  #closed = false

  /** `threads`: argon2 jobs run at once; `worker`: the compiled hashing-worker.js to run, refused at once when it is missing. */
  constructor (threads: number, worker = DEFAULT_WORKER) {
    if (!existsSync(worker)) throw new Error(`the password hashing worker ${worker} is missing: run \`npm run build\` first`)
    this.#worker = worker
    this.#threads = threads
  }

  /** The running process's pid, if one runs. */
  get pid (): number | undefined {
    return this.#child?.pid
  }

  run (job: JobInput): Promise<string | boolean> {
    if (this.#closed) return Promise.reject(new Error('the password hashing process is closed'))
    const child = this.#child ?? this.#start()
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      // While jobs wait, the process keeps the parent alive; idle, it does not.
      if (this.#pending.size === 1) this.#hold(child, true)
      child.send({ ...job, id })
    })
  }

  async close (): Promise<void> {
    this.#closed = true
    const child = this.#child
    if (child === undefined) return
    const exited = new Promise(resolve => child.once('exit', resolve))
    child.ref() // held until it has exited
    child.kill()
    await exited
  }

  #start (): ChildProcess {
    const child = spawn(process.execPath, [this.#worker], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
      env: { ...process.env, UV_THREADPOOL_SIZE: String(this.#threads) }
    })
    this.#child = child
    this.#hold(child, false)
    child.on('message', (result: HashingResult) => this.#settle(child, result))
    child.once('exit', () => {
      if (this.#child === child) this.#child = undefined
      const error = new Error('the password hashing process exited')
      for (const { reject } of this.#pending.values()) reject(error)
      this.#pending.clear()
    })
    return child
  }

  #hold (child: ChildProcess, held: boolean) {
    if (held) {
      child.ref()
      child.channel?.ref()
    } else {
      child.unref()
      child.channel?.unref()
    }
  }

  #settle (child: ChildProcess, result: HashingResult) {
    const job = this.#pending.get(result.id)
    // Every reply answers a job sent to that process and still pending.
    /* c8 ignore next */
    if (job === undefined) return
    this.#pending.delete(result.id)
    if (this.#pending.size === 0) this.#hold(child, false)
    if ('error' in result) job.reject(new HashingJobError(result.error))
    else job.resolve(result.value)
  }
}
