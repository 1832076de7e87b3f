import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { createSigner } from 'fast-jwt'
import { ACCESS_TOKEN_TYPE, type AccessTokenClaims } from '../verify/claims.js'
import type { SigningKeys } from './keys.js'

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
  issue (subject: AccessTokenSubject, now: number): IssuedAccessToken
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
    issue (subject, now) {
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
