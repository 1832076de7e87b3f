import { createHash, createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, type JsonWebKey } from 'node:crypto'
import type { JwtAlgorithm } from './config.js'
import type { Db } from './store/index.js'

export interface PublicJwk {
  kty: string
  crv?: string
  x?: string
  y?: string
  kid: string
  alg: string
  use: 'sig'
}

export interface SigningKeys {
  algorithm: JwtAlgorithm
  /** The key that signs new tokens: a PEM private key, or the HMAC secret. */
  signing: { kid: string, key: string }
  /** The key that verifies tokens with this `kid`, or undefined when none is published. */
  verificationKey (kid: string): string | undefined
  /** Public keys to publish; empty for HS256, whose secret is never published. */
  jwks: { keys: PublicJwk[] }
}

const base64url = (data: Buffer) => data.toString('base64url')

/** RFC 7638 thumbprint: the SHA-256 of the key's required members in lexicographic order. */
export function jwkThumbprint (jwk: JsonWebKey): string {
  const members = jwk.kty === 'EC'
    ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
    : { crv: jwk.crv, kty: jwk.kty, x: jwk.x }
  return base64url(createHash('sha256').update(JSON.stringify(members)).digest())
}

function generateKeyPair (algorithm: Exclude<JwtAlgorithm, 'HS256'>) {
  const { privateKey, publicKey } = algorithm === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : generateKeyPairSync('ed25519')
  const publicJwk = publicKey.export({ format: 'jwk' })
  return { kid: jwkThumbprint(publicJwk), privateJwk: privateKey.export({ format: 'jwk' }), publicJwk }
}

function hmacKeys (secret: string): SigningKeys {
  // A kid that names the secret without revealing anything about it.
  const kid = base64url(createHmac('sha256', secret).update('gatehouse kid').digest()).slice(0, 16)
  return {
    algorithm: 'HS256',
    signing: { kid, key: secret },
    verificationKey: (candidate) => candidate === kid ? secret : undefined,
    jwks: { keys: [] }
  }
}

/**
 * Loads the signing keys from the store, creating the first key pair of the
 * configured algorithm when there is none. Every instance sharing the store
 * signs with the oldest active key and publishes all unretired ones.
 */
export async function loadSigningKeys (db: Db, jwt: { algorithm: JwtAlgorithm, secret?: string }): Promise<SigningKeys> {
  const { algorithm } = jwt
  if (algorithm === 'HS256') {
    if (!jwt.secret) throw new Error('HS256 needs a secret')
    return hmacKeys(jwt.secret)
  }

  const active = () => db.selectFrom('signing_keys')
    .selectAll()
    .where('alg', '=', algorithm)
    .where('state', '!=', 'retired')
    .orderBy('created_at')
    .orderBy('kid')
    .execute()

  let rows = await active()
  if (!rows.some(r => r.state === 'active')) {
    const pair = generateKeyPair(algorithm)
    await db.insertInto('signing_keys').values({
      kid: pair.kid,
      alg: algorithm,
      state: 'active',
      private_jwk: JSON.stringify(pair.privateJwk),
      public_jwk: JSON.stringify(pair.publicJwk),
      created_at: Date.now(),
      retired_at: null
    }).onConflict(oc => oc.column('kid').doNothing()).execute()
    rows = await active()
  }

  const signingRow = await db.selectFrom('signing_keys')
    .selectAll()
    .where('alg', '=', algorithm)
    .where('state', '=', 'active')
    .orderBy('created_at')
    .orderBy('kid')
    .executeTakeFirstOrThrow()

  const publicPems = new Map<string, string>()
  const keys: PublicJwk[] = []
  for (const row of rows) {
    const jwk = JSON.parse(row.public_jwk) as JsonWebKey
    publicPems.set(row.kid, createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString())
    keys.push({ kty: String(jwk.kty), crv: jwk.crv, x: jwk.x, ...(jwk.y ? { y: jwk.y } : {}), kid: row.kid, alg: algorithm, use: 'sig' })
  }
  const privatePem = createPrivateKey({ key: JSON.parse(signingRow.private_jwk) as JsonWebKey, format: 'jwk' })
    .export({ type: 'pkcs8', format: 'pem' }).toString()

  return {
    algorithm,
    signing: { kid: signingRow.kid, key: privatePem },
    verificationKey: (kid) => publicPems.get(kid),
    jwks: { keys }
  }
}
