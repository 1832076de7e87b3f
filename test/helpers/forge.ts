import { createHmac, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'

/**
 * Builds JWTs by hand with node:crypto, so tests can produce tokens that no
 * well-behaved library would sign: wrong algorithms, bad claims, odd encodings.
 */

export type JsonObject = Record<string, unknown>

/** Signs the JWS signing input and returns the base64url signature ('' for none). */
export type Signer = (input: string) => string

export const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url')

/** A JSON part, or `{ raw }` to put exactly these bytes in the part. */
export type Part = unknown | { raw: string }

function encodePart (part: Part): string {
  if (typeof part === 'object' && part !== null && 'raw' in part && typeof part.raw === 'string') return b64url(part.raw)
  return b64url(JSON.stringify(part))
}

export function forge (header: Part, payload: Part, signer: Signer): string {
  const input = `${encodePart(header)}.${encodePart(payload)}`
  return `${input}.${signer(input)}`
}

const privateKey = (key: KeyObject | string) => typeof key === 'string' ? createPrivateKey(key) : key

export const es256 = (key: KeyObject | string): Signer =>
  input => sign('sha256', Buffer.from(input), { key: privateKey(key), dsaEncoding: 'ieee-p1363' }).toString('base64url')

export const eddsa = (key: KeyObject | string): Signer =>
  input => sign(null, Buffer.from(input), privateKey(key)).toString('base64url')

export const rs256 = (key: KeyObject | string): Signer =>
  input => sign('sha256', Buffer.from(input), privateKey(key)).toString('base64url')

export const hs256 = (secret: string | Buffer): Signer =>
  input => createHmac('sha256', secret).update(input).digest('base64url')

export const unsigned: Signer = () => ''

/** Fresh key pairs that the server has never seen. */
export const strangerKeys = {
  es256: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
  eddsa: () => generateKeyPairSync('ed25519').privateKey,
  rs256: () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
}

/** A signer holding the app's real signing key, for its configured algorithm. */
export function serverSigner (app: FastifyInstance): Signer {
  const { algorithm, signing } = app.signingKeys
  switch (algorithm) {
    case 'ES256': return es256(signing.key)
    case 'EdDSA': return eddsa(signing.key)
    case 'HS256': return hs256(signing.key)
  }
}

/** The header the server puts on its own access tokens. */
export function serverHeader (app: FastifyInstance): JsonObject {
  return { alg: app.signingKeys.algorithm, typ: 'at+jwt', kid: app.signingKeys.signing.kid }
}

export function decodePart (part: string | undefined): JsonObject {
  return JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8')) as JsonObject
}

/** The header and claims of a compact JWT, unverified. */
export function decode (token: string): { header: JsonObject, payload: JsonObject, signature: string } {
  const [header, payload, signature = ''] = token.split('.')
  return { header: decodePart(header), payload: decodePart(payload), signature }
}

export interface LoggedIn {
  token: string
  userId: string
  email: string
}

/** Signs a new user up and logs them in through the HTTP API. */
export async function signupAndLogin (app: FastifyInstance, email = 'ada@example.com', password = 'correct horse battery'): Promise<LoggedIn> {
  const signup = await app.inject({ method: 'POST', url: '/auth/signup', payload: { email, password } })
  if (signup.statusCode !== 201) throw new Error(`signup failed: ${signup.statusCode} ${signup.body}`)
  const login = await app.inject({ method: 'POST', url: '/auth/login', payload: { email, password } })
  if (login.statusCode !== 200) throw new Error(`login failed: ${login.statusCode} ${login.body}`)
  const body = login.json<{ access_token: string, user: { id: string } }>()
  return { token: body.access_token, userId: body.user.id, email }
}

/** Re-signs the claims of a real token, changed by `changes` (undefined deletes a claim), with the server's key. */
export function reissue (app: FastifyInstance, token: string, changes: JsonObject, header: JsonObject = serverHeader(app)): string {
  const payload: JsonObject = { ...decode(token).payload, ...changes }
  for (const [name, value] of Object.entries(changes)) if (value === undefined) delete payload[name]
  return forge(header, payload, serverSigner(app))
}

export const nowSeconds = () => Math.floor(Date.now() / 1000)

export const MISSING_TOKEN_CHALLENGE = 'Bearer realm="gatehouse"'
export const INVALID_TOKEN_MESSAGE = 'The access token is invalid'
export const UNKNOWN_KEY_MESSAGE = 'The access token is signed by an unknown key'
export const INVALID_TOKEN_CHALLENGE = `Bearer realm="gatehouse", error="invalid_token", error_description="${INVALID_TOKEN_MESSAGE}"`

type Assert = Pick<Test, 'equal' | 'strictSame'>

/**
 * Sends the request and asserts the contract's 401: the error shape, the
 * code, and the exact RFC 6750 challenge.
 */
export async function assertUnauthorized (
  t: Assert,
  app: FastifyInstance,
  request: { url?: string, headers?: Record<string, string> },
  code: 'missing_token' | 'invalid_token' = 'invalid_token',
  message = code === 'missing_token' ? 'An access token is required' : INVALID_TOKEN_MESSAGE
): Promise<void> {
  const res = await app.inject({ method: 'GET', url: request.url ?? '/auth/me', headers: request.headers ?? {} })
  t.equal(res.statusCode, 401, 'status 401')
  t.strictSame(res.json(), {
    statusCode: 401,
    error: 'Unauthorized',
    code,
    message
  }, `error body with code ${code}`)
  const challenge = code === 'missing_token' ? MISSING_TOKEN_CHALLENGE : `Bearer realm="gatehouse", error="invalid_token", error_description="${message}"`
  t.equal(res.headers['www-authenticate'], challenge, 'WWW-Authenticate challenge')
}

/** Asserts the token is refused on GET /auth/me with 401 invalid_token (and this message). */
export function assertTokenRefused (t: Assert, app: FastifyInstance, token: string, message = INVALID_TOKEN_MESSAGE): Promise<void> {
  return assertUnauthorized(t, app, { headers: { authorization: `Bearer ${token}` } }, 'invalid_token', message)
}

/** Asserts GET /auth/me accepts the token and answers with its user. */
export async function assertTokenAccepted (t: Assert, app: FastifyInstance, authorization: string, userId: string): Promise<void> {
  const res = await app.inject({ method: 'GET', url: '/auth/me', headers: { authorization } })
  t.equal(res.statusCode, 200, 'status 200')
  t.equal(res.json<{ user: { id: string } }>().user.id, userId, 'the token\'s user')
}
