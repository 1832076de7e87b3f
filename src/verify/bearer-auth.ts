import type { FastifyError, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { createVerifier, type Algorithm, type VerifierOptions } from 'fast-jwt'
import { contractError, sendError } from './error-reply.js'
import { ForbiddenError, InvalidTokenError, MissingTokenError, RevokedTokenError, UnknownKeyError } from './errors.js'
import { ACCESS_TOKEN_TYPE, hasValidClaimShape, type AccessTokenClaims } from './claims.js'
import type { RevocationSet } from './revocation-set.js'
import { VerifiedTokens, type VerifiedToken } from './verified-tokens.js'
// The module augmented below: request.user is typed as the access token's claims.
import type {} from '@fastify/jwt'

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: AccessTokenClaims
    user: AccessTokenClaims
  }
}

/** A guard for `onRequest` or `preHandler`: a refused request gets the contract's 401/403/503 reply. */
export interface AuthHook {
  /**
   * As Fastify calls a hook: an admitted request goes on through `done`, at
   * once when the check needs no wait (a remembered token); a refused one is
   * answered and `done` is not called.
   */
  (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void
  /** Called from your own hook: settles once the check has answered; when it refused the request, its reply is sent (`reply.sent`). */
  (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined>
}

/** A token's JOSE header as sent: nothing in it is trusted yet. */
export interface TokenHeader {
  alg?: unknown
  kid?: unknown
}

export interface BearerAuthOptions {
  /** Accepted `alg` values; a token naming any other is refused before its key is looked up. */
  algorithms: Algorithm[]
  issuer: string
  audience: string
  /** Leeway for `exp`, `nbf` and `iat` (ms): a token is refused from `exp` plus this on. */
  clockTolerance: number
  /** The key that verifies a token of this `alg` and `kid`; throws a contract error (401/503) when there is none. */
  keyFor (header: { alg: Algorithm, kid: string }): Promise<string | Buffer> | string | Buffer
  /** Sessions whose tokens are refused although unexpired. */
  revoked: RevocationSet
  /** The time the check reads (Unix ms); default `Date.now`. */
  now?: () => number
}

export interface BearerAuth {
  authenticate: AuthHook
  authorize (...roles: string[]): AuthHook
  /**
   * The check as `request.jwtVerify()` makes it: the claims (also set on
   * `request.user`), or a rejection with the contract error `authenticate`
   * would reply with, its `WWW-Authenticate` challenge in `headers`.
   */
  verify (request: FastifyRequest): Promise<AccessTokenClaims>
}

// Scheme case-insensitive, one space, then three base64url parts: padding,
// whitespace or anything else makes the header malformed.
const BEARER = /^bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/i
const BEARER_SCHEME = /^bearer $/i
const REQUIRED_CLAIMS = ['iss', 'aud', 'sub', 'iat', 'exp', 'jti', 'sid']
const VERIFIED_TOKEN_CACHE_SIZE = 10_000

/**
 * What fast-jwt checks, declared once for the verifier of every key. `exp`,
 * `nbf` and `iat` are left to `isValidAt`: fast-jwt reads `Date.now()`,
 * the check reads its own clock.
 */
function verifierOptions (options: BearerAuthOptions): VerifierOptions {
  return {
    algorithms: options.algorithms,
    allowedIss: options.issuer,
    allowedAud: options.audience,
    checkTyp: ACCESS_TOKEN_TYPE,
    requiredClaims: REQUIRED_CLAIMS,
    ignoreExpiration: true,
    ignoreNotBefore: true
  }
}

/** The claim shape and times at `now`: `iat` and `nbf` not in the future, and refused from `exp` on, each give or take `tolerance`. */
function isValidAt (claims: unknown, now: number, tolerance: number): claims is AccessTokenClaims {
  return hasValidClaimShape(claims, now / 1000, tolerance / 1000) &&
    now < claims.exp * 1000 + tolerance &&
    (claims.nbf === undefined || claims.nbf * 1000 - tolerance <= now)
}

/** The key lookup, refusing a disallowed `alg` before any key is fetched for it. */
function keyLookup (options: BearerAuthOptions) {
  return (header: TokenHeader): Promise<string | Buffer> | string | Buffer => {
    const { alg, kid } = header
    if (!options.algorithms.includes(alg as Algorithm)) throw new InvalidTokenError()
    if (typeof kid !== 'string') throw new UnknownKeyError()
    return options.keyFor({ alg: alg as Algorithm, kid })
  }
}

function isContractError (error: unknown): error is FastifyError {
  return error instanceof Error && typeof (error as FastifyError).statusCode === 'number' && (error as FastifyError).statusCode !== 500
}

/**
 * The access-token check every Gatehouse guard and `request.jwtVerify()`
 * use, built once: a fast-jwt verifier per key (algorithm allow-list, `typ`,
 * `iss`, `aud`, required claims), then the claim shape and times, whose
 * verdict for a token used again is remembered until the token expires, then the revoked sessions on
 * every request. It needs no request decorator, so its guards also work on
 * routes outside the context that built it.
 */
export function createBearerAuth (options: BearerAuthOptions): BearerAuth {
  const keyFor = keyLookup(options)
  const now = options.now ?? Date.now
  const tolerance = options.clockTolerance
  const checks = verifierOptions(options)
  // One fast-jwt verifier per key, built once: with a key callback fast-jwt
  // would parse the PEM again for every token (a quarter of a request's CPU).
  // Keys come only from our key source, so this holds one entry per key ever published.
  const verifiers = new Map<string | Buffer, (token: string) => unknown>()
  function verifierFor (key: string | Buffer) {
    let verifier = verifiers.get(key)
    if (verifier === undefined) {
      verifier = createVerifier({ ...checks, key })
      verifiers.set(key, verifier)
    }
    return verifier
  }
  const verifiedTokens = new VerifiedTokens(VERIFIED_TOKEN_CACHE_SIZE)

  // Every token one key signs has the same header: the last one decoded is
  // kept, so a stream of new tokens is not decoded twice (here and in fast-jwt).
  let lastHeader: { segment: string, header: unknown } | undefined
  function headerOf (token: string): unknown {
    const segment = token.slice(0, token.indexOf('.'))
    if (lastHeader?.segment !== segment) lastHeader = { segment, header: JSON.parse(Buffer.from(segment, 'base64url').toString()) }
    return lastHeader.header
  }

  type Verdict = FastifyError | undefined

  /**
   * Every check but revocation of a token not remembered (or whose key has
   * changed): the signature, then the claims. A token that passes them a
   * second time is remembered (see VerifiedTokens.remember).
   */
  async function verifyToken (token: string, at: number): Promise<AccessTokenClaims> {
    // Only the header picks the key; the verifier reads the rest.
    const header = headerOf(token)
    if (typeof header !== 'object' || header === null) throw new InvalidTokenError()
    const { alg, kid } = header as TokenHeader
    const lookup = keyFor({ alg, kid })
    const key = lookup instanceof Promise ? await lookup : lookup
    const claims = verifierFor(key)(token)
    if (!isValidAt(claims, at, tolerance)) throw new InvalidTokenError()
    verifiedTokens.remember(token, {
      claims,
      header: { alg: alg as Algorithm, kid: kid as string },
      key,
      expiresAt: claims.exp * 1000 + tolerance
    })
    return claims
  }

  /** A key lookup's own verdict (unknown key, keys unavailable) is kept; anything fast-jwt threw is a bad token. */
  function refusal (error: unknown): FastifyError {
    return isContractError(error) ? error : new InvalidTokenError()
  }

  /** The last check, on every request: in memory, so revocation bites at once without a store or network read. */
  function admit (request: FastifyRequest, claims: AccessTokenClaims, at: number): Verdict {
    if (options.revoked.has(claims.sid, at)) return new RevokedTokenError()
    // The remembered claims serve every request with this token: each gets its own copy to change.
    request.user = { ...claims, roles: [...claims.roles], aud: Array.isArray(claims.aud) ? [...claims.aud] : claims.aud }
    return undefined
  }

  async function verifyAndAdmit (request: FastifyRequest, token: string, at: number): Promise<Verdict> {
    let claims: AccessTokenClaims
    try {
      claims = await verifyToken(token, at)
    } catch (error) {
      return refusal(error)
    }
    return admit(request, claims, at)
  }

  /**
   * The one check: on success `request.user` holds the claims; else the
   * contract's refusal. A remembered token whose key lookup answers at once
   * (the server's own keys, a loaded JWKS) is checked without a promise: it
   * is most requests, and each await cost more than the lookup itself.
   */
  function check (request: FastifyRequest): Verdict | Promise<Verdict> {
    const authorization = request.headers.authorization
    if (authorization === undefined) return new MissingTokenError()
    // One reading of the clock per request: its expiry, validity and revocation checks agree on the time.
    const at = now()
    // A remembered token matched BEARER when it was verified: after the same scheme it needs no regex again.
    const candidate = BEARER_SCHEME.test(authorization.slice(0, 7)) ? authorization.slice(7) : undefined
    const remembered = candidate === undefined ? undefined : verifiedTokens.get(candidate, at)
    if (remembered === undefined) {
      const token = BEARER.exec(authorization)?.[1]
      return token === undefined ? new InvalidTokenError() : verifyAndAdmit(request, token, at)
    }
    const token = candidate as string
    let lookup: ReturnType<typeof keyFor>
    try {
      lookup = keyFor(remembered.header)
    } catch (error) {
      verifiedTokens.forget(token)
      return refusal(error)
    }
    if (lookup === remembered.key) return admit(request, remembered.claims, at)
    return recallLater(request, token, remembered, lookup, at)
  }

  /**
   * A remembered token whose key lookup is pending or answered with another
   * key: a withdrawn or replaced key's tokens are refused at once, not at their exp.
   */
  async function recallLater (
    request: FastifyRequest, token: string, remembered: VerifiedToken, lookup: ReturnType<typeof keyFor>, at: number
  ): Promise<Verdict> {
    let current: string | Buffer
    try {
      current = await lookup
    } catch (error) {
      verifiedTokens.forget(token)
      return refusal(error)
    }
    if (current === remembered.key) return admit(request, remembered.claims, at)
    verifiedTokens.forget(token)
    return verifyAndAdmit(request, token, at)
  }

  type Decide = (request: FastifyRequest, error: Verdict) => Verdict

  /** The verdict carried out: go on through `done`, or answer the request and then call `refused`. */
  function proceed (request: FastifyRequest, reply: FastifyReply, error: Verdict, done: HookHandlerDoneFunction, refused?: () => void): void {
    if (error === undefined) {
      done()
      return
    }
    sendError(request, reply, error)
    refused?.()
  }

  /**
   * The check as a callback hook, which is how Fastify calls it: a promise
   * for every admitted request, and the microtask Fastify waits on it with,
   * cost 4 % of a protected request's throughput. Whatever throws goes to
   * `done`; a refused request is answered and `done` is not called.
   */
  function runGuard (request: FastifyRequest, reply: FastifyReply, decide: Decide, done: HookHandlerDoneFunction, refused?: () => void): void {
    let verdict: ReturnType<typeof check>
    try {
      verdict = check(request)
    } catch (error) {
      done(error as Error)
      return
    }
    if (verdict instanceof Promise) verdict.then(error => proceed(request, reply, decide(request, error), done, refused)).catch(done)
    else proceed(request, reply, decide(request, verdict), done, refused)
  }

  /** One guard for both ways of calling it (see AuthHook). */
  function guard (decide: Decide): AuthHook {
    function guarded (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void
    function guarded (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined>
    function guarded (request: FastifyRequest, reply: FastifyReply, done?: HookHandlerDoneFunction): Promise<FastifyReply | undefined> | undefined {
      if (done !== undefined) {
        runGuard(request, reply, decide, done)
        return undefined
      }
      // A refusal settles once its reply is sent (a reply is a thenable that
      // settles then), so Fastify does not run the route's next hook before.
      return new Promise((resolve, reject) => runGuard(request, reply, decide,
        error => error === undefined ? resolve(undefined) : reject(error),
        () => resolve(reply)))
    }
    return guarded
  }

  const authenticate = guard((_request, error) => error)

  function authorize (...roles: string[]): AuthHook {
    return guard((request, error) =>
      error ?? (roles.every(role => request.user.roles.includes(role)) ? undefined : new ForbiddenError()))
  }

  async function verify (request: FastifyRequest): Promise<AccessTokenClaims> {
    const error = await check(request)
    // Thrown, so the app's error handler answers, whichever it is, Fastify's default included.
    if (error !== undefined) throw contractError(error)
    return request.user
  }

  return { authenticate, authorize, verify }
}
