// Installs the peers' packages into bench/.peers/ (git-ignored), once, and
// checks for Debian's Tornado + PyJWT and wrk. Run by bench/run.js; also runnable alone.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const peersDir = fileURLToPath(new URL('./.peers/', import.meta.url))
const packages = ['express@5', 'passport', 'passport-jwt', 'hono', '@hono/node-server', 'fastify@5', 'fast-jwt@6']
const names = ['express', 'passport', 'passport-jwt', 'hono', '@hono/node-server', 'fastify', 'fast-jwt']
export const PYTHON = '/usr/bin/python3'

function run (command, args, options = {}) {
  return spawnSync(command, args, { stdio: ['ignore', 'inherit', 'inherit'], ...options })
}

/** npm packages for the Node peers; skipped when every one is there already. */
export function installNodePeers () {
  mkdirSync(peersDir, { recursive: true })
  if (names.every((name) => existsSync(`${peersDir}node_modules/${name}/package.json`))) return
  if (!existsSync(`${peersDir}package.json`)) {
    writeFileSync(`${peersDir}package.json`, JSON.stringify({ name: 'gatehouse-bench-peers', private: true }, null, 2) + '\n')
  }
  console.log(`installing ${packages.join(' ')} into bench/.peers/`)
  const result = run('npm', ['install', '--prefix', peersDir, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...packages])
  if (result.status !== 0) throw new Error('npm install of the peers failed')
}

const pythonReady = () => existsSync(PYTHON) && run(PYTHON, ['-c', 'import tornado, jwt, cryptography'], { stdio: 'ignore' }).status === 0

/** Debian's python3-tornado and python3-jwt; returns a reason string when the Tornado peer has to be skipped. */
export function installPythonPeer () {
  if (pythonReady()) return undefined
  console.log('installing python3-tornado python3-jwt python3-cryptography with apt-get')
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  const result = run('apt-get', ['install', '-y', '--no-install-recommends', 'python3-tornado', 'python3-jwt', 'python3-cryptography'], { env })
  if (result.error || result.status !== 0 || !pythonReady()) return `Tornado peer skipped: ${PYTHON} cannot import tornado, jwt and cryptography, and apt-get install failed`
  return undefined
}

const hasCommand = (command) => run('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0

/** A Debian package providing `command`, unless it is there (apt-get update first when the package lists are missing or stale). */
export function installDebianCommand (command, pkg = command) {
  if (hasCommand(command)) return
  console.log(`installing ${pkg} with apt-get`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  const install = () => run('apt-get', ['install', '-y', '--no-install-recommends', pkg], { env })
  if (install().status !== 0) {
    run('apt-get', ['update'], { env })
    install()
  }
  if (!hasCommand(command)) throw new Error(`${command} is needed and apt-get could not install it: install Debian's ${pkg} and run the bench again`)
}

/** Debian's wrk, the load generator. */
export const installWrk = () => installDebianCommand('wrk')

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  installWrk()
  installNodePeers()
  const skipped = installPythonPeer()
  console.log(skipped ?? 'peers ready')
}
