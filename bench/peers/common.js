// What every Node peer shares: its packages come from bench/.peers/, its
// public key (Gatehouse's, as PEM) from the file BENCH_PUBLIC_KEY_FILE names.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

export const peerRequire = createRequire(new URL('../.peers/package.json', import.meta.url))
export const port = Number(process.env.PORT ?? 3000)
export const publicKeyPem = () => readFileSync(process.env.BENCH_PUBLIC_KEY_FILE, 'utf8')
export const ISSUER = 'gatehouse'
export const AUDIENCE = 'gatehouse'

/** Tells the bench the server listens: one line on stdout. */
export function ready () {
  process.stdout.write(`listening ${port}\n`)
}
