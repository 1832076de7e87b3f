import type { FastifyInstance, InjectOptions } from 'fastify'

/**
 * Request helpers for the /auth/* routes, shared by the route tests.
 * The plain verbs (signup, login, logout, ...) return the inject response for the test to assert on;
 * the past participles (signedUp, loggedIn, loggedOut) are setup steps that throw unless the call succeeded.
 */

export const EMAIL = 'ada@example.com'
export const PASSWORD = 'correct horse battery'

export interface User { id: string, email: string, roles: string[], created_at: string }

/** The body of a login or refresh reply (API.md token reply). */
export interface TokenReply {
  access_token: string
  token_type: string
  expires_in: number
  expires_at: number
  refresh_token: string
  user: User
}

/** A login reply with the session id read from its access token. */
export type Session = TokenReply & { sid: string }

/** The claims of an access token, read without checking its signature. */
export interface AccessClaims { sub: string, sid: string, jti: string, roles: string[], iat: number, exp: number }

export function claims (accessToken: string): AccessClaims {
  return JSON.parse(Buffer.from(String(accessToken.split('.')[1]), 'base64url').toString('utf8'))
}

export function bearer (accessToken: string) {
  return { authorization: `Bearer ${accessToken}` }
}

export function signup (app: FastifyInstance, email = EMAIL, password = PASSWORD) {
  return app.inject({ method: 'POST', url: '/auth/signup', payload: { email, password } })
}

/** Signs up and returns the new user; throws unless the signup answered 201. */
export async function signedUp (app: FastifyInstance, email = EMAIL, password = PASSWORD): Promise<User> {
  const res = await signup(app, email, password)
  if (res.statusCode !== 201) throw new Error(`signup failed: ${res.statusCode} ${res.body}`)
  return res.json().user
}

/** `extra` is spread over the request options (a `headers` in it replaces, not merges). */
export function login (app: FastifyInstance, email = EMAIL, password = PASSWORD, extra: Partial<InjectOptions> = {}) {
  return app.inject({ method: 'POST', url: '/auth/login', payload: { email, password }, ...extra })
}

/** Logs in and returns the token reply and session id; throws unless the login answered 200. */
export async function loggedIn (app: FastifyInstance, email = EMAIL, password = PASSWORD, extra: Partial<InjectOptions> = {}): Promise<Session> {
  const res = await login(app, email, password, extra)
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`)
  const body: TokenReply = res.json()
  return { ...body, sid: claims(body.access_token).sid }
}

export function me (app: FastifyInstance, accessToken: string) {
  return app.inject({ method: 'GET', url: '/auth/me', headers: bearer(accessToken) })
}

export function refresh (app: FastifyInstance, refreshToken: unknown) {
  return app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: refreshToken } })
}

export function logout (app: FastifyInstance, accessToken: string, scope?: string) {
  return app.inject({
    method: 'POST',
    url: scope === undefined ? '/auth/logout' : `/auth/logout?scope=${scope}`,
    headers: bearer(accessToken)
  })
}

/** Logs out; throws unless the logout answered 204. */
export async function loggedOut (app: FastifyInstance, accessToken: string, scope?: string): Promise<void> {
  const res = await logout(app, accessToken, scope)
  if (res.statusCode !== 204) throw new Error(`logout failed: ${res.statusCode} ${res.body}`)
}

export function changePassword (app: FastifyInstance, accessToken: string, payload: Record<string, unknown>) {
  return app.inject({ method: 'POST', url: '/auth/password', headers: bearer(accessToken), payload })
}

/**
 * Whether a pair still works: its access token is accepted by /auth/me and its refresh token by /auth/refresh.
 * A refresh token cannot be used twice, so this spends it and is checked last.
 */
export async function works (app: FastifyInstance, pair: { access_token: string, refresh_token: string }) {
  const access = await me(app, pair.access_token)
  const refreshed = await refresh(app, pair.refresh_token)
  return { access: access.statusCode === 200, refresh: refreshed.statusCode === 200 }
}
