import { Type, type Static } from 'typebox'
import { Compile } from 'typebox/compile'

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
