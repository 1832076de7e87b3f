import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { createSigner } from 'fast-jwt'
import { Type, type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import type { SigningKeys } from './keys.js'

export const ACCESS_TOKEN_TYPE = 'at+jwt'

/** The claims of a Gatehouse access token (RFC 9068 profile), all required. */
export const AccessTokenClaimsSchema = Type.Object({
  iss: Type.String(),
  aud: Type.Union([Type.String(), Type.Array(Type.String())]),
  sub: Type.String({ minLength: 1 }),
  iat: Type.Integer(),
  exp: Type.Integer(),
  nbf: Type.Optional(Type.Integer()),
  jti: Type.String({ minLength: 1 }),
  sid: Type.String({ minLength: 1 }),
  roles: Type.Array(Type.String())
})
export type AccessTokenClaims = Static<typeof AccessTokenClaimsSchema>

const claimsShape = Compile(AccessTokenClaimsSchema)

/**
 * Checks what a signature check leaves open: the claim types, and an `iat`
 * that is not in the future (beyond the clock tolerance).
 */
export function hasValidClaimShape (payload: unknown, nowSeconds: number, toleranceSeconds: number): payload is AccessTokenClaims {
  if (!claimsShape.Check(payload)) return false
  return payload.iat <= nowSeconds + toleranceSeconds && payload.exp > payload.iat
}

export interface AccessTokenSubject {
  userId: string
  sessionId: string
  roles: string[]
  /** Unix milliseconds at which the session ends: no token of it outlives that. */
  sessionEndsAt?: number
}

export interface IssuedAccessToken {
  token: string
  /** Unix seconds. */
  expiresAt: number
  /** Seconds from issue to expiry. */
  expiresIn: number
}

export interface AccessTokenIssuer {
  issue (subject: AccessTokenSubject, now?: number): IssuedAccessToken
}

/** Signs with whatever key `keys.signing` names at the time of each token, so a reloaded rotation takes effect at once. */
export function createAccessTokenIssuer (keys: Pick<SigningKeys, 'algorithm' | 'signing'>, options: { issuer: string, audience: string, ttl: number }): AccessTokenIssuer {
  // One fast-jwt signer per signing key, built when that key signs its first token.
  let signer: { kid: string, sign: (claims: AccessTokenClaims) => string } | undefined
  function currentSigner () {
    const { kid, key } = keys.signing
    if (signer?.kid !== kid) {
      signer = { kid, sign: createSigner({ key, algorithm: keys.algorithm, header: { alg: keys.algorithm, typ: ACCESS_TOKEN_TYPE, kid } }) }
    }
    return signer.sign
  }
  return {
    issue (subject, now = Date.now()) {
      const sign = currentSigner()
      const iat = Math.floor(now / 1000)
      const exp = Math.min(iat + options.ttl, subject.sessionEndsAt === undefined ? Infinity : Math.floor(subject.sessionEndsAt / 1000))
      const claims: AccessTokenClaims = {
        iss: options.issuer,
        aud: options.audience,
        sub: subject.userId,
        iat,
        exp,
        jti: randomUUID(),
        sid: subject.sessionId,
        roles: subject.roles
      }
      return { token: sign(claims), expiresAt: exp, expiresIn: exp - iat }
    }
  }
}

/** A new opaque refresh token: 256 bits from the CSPRNG. */
export function newRefreshToken (): string {
  return randomBytes(32).toString('base64url')
}

/** The only form of a refresh token the store ever holds. */
export function refreshTokenHash (token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}

/** A random, unguessable identifier (128 bits). */
export function newId (): string {
  return randomBytes(16).toString('base64url')
}
