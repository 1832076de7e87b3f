import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto'
import type { Algorithm } from 'fast-jwt'

export const MIN_SECRET_BYTES = 32

export interface StaticKey {
  algorithm: Algorithm
  key: string | Buffer
}

/** An HS256 secret, held to the same minimum length as the server's. */
export function secretKey (secret: string | Buffer): StaticKey {
  if (Buffer.byteLength(secret) < MIN_SECRET_BYTES) throw new Error(`gatehouse: secret must be at least ${MIN_SECRET_BYTES} bytes`)
  return { algorithm: 'HS256', key: secret }
}

// createPublicKey takes a private KeyObject (and derives its public half) but throws on a public one.
const publicHalf = (key: KeyObject): KeyObject => key.type === 'public' ? key : createPublicKey(key)

/** A public key (PEM, JWK or KeyObject) and the one algorithm its type allows. */
export function publicKey (input: string | Buffer | JsonWebKey | KeyObject): StaticKey {
  let key: KeyObject
  try {
    key = typeof input === 'string' || Buffer.isBuffer(input)
      ? createPublicKey(input)
      : 'asymmetricKeyType' in input ? publicHalf(input as KeyObject) : createPublicKey({ key: input as JsonWebKey, format: 'jwk' })
  } catch {
    throw new Error('gatehouse: publicKey is not a PEM, JWK or KeyObject public key')
  }
  const type = key.asymmetricKeyType
  const algorithm: Algorithm | undefined = type === 'ed25519'
    ? 'EdDSA'
    : type === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? 'ES256' : undefined
  if (algorithm === undefined) throw new Error('gatehouse: publicKey must be an EC P-256 (ES256) or Ed25519 (EdDSA) key')
  return { algorithm, key: key.export({ type: 'spki', format: 'pem' }).toString() }
}
