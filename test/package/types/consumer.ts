// A TypeScript resource server as a user writes it, typechecked against the
// built declarations (`gatehouse` resolves to dist/src/verify/index.d.ts). Every
// `@ts-expect-error` marks a misuse the types must refuse: types.test.ts
// compiles this file with no error, so each marked line is an error.
import Fastify from 'fastify'
import gatehouse, { type AccessTokenClaims, type AuthHook, type GatehouseOptions } from 'gatehouse'

const app = Fastify()

await app.register(gatehouse, { jwksUrl: 'http://127.0.0.1:3000/.well-known/jwks.json', issuer: 'gatehouse', audience: 'gatehouse', revocationPollInterval: 5_000 })
await app.register(gatehouse, { secret: 'a shared secret of at least thirty-two bytes', algorithms: ['HS256'], clockTolerance: 1_000 })

// @ts-expect-error an option the plugin does not have
await app.register(gatehouse, { jwksUrl: 'http://127.0.0.1:3000/.well-known/jwks.json', jwksUri: 'http://127.0.0.1:3000/.well-known/jwks.json' })

// @ts-expect-error RSA is not an algorithm Gatehouse accepts
await app.register(gatehouse, { publicKey: 'pem', algorithms: ['RS256'] })

// @ts-expect-error durations are milliseconds as numbers, as Fastify's own
await app.register(gatehouse, { jwksUrl: 'http://127.0.0.1:3000/.well-known/jwks.json', revocationPollInterval: '5s' })

const options: GatehouseOptions = { publicKey: 'pem', algorithms: ['ES256', 'EdDSA'] }
await app.register(gatehouse, options)

const authenticate: AuthHook = app.authenticate
const adminOnly: AuthHook = app.authorize('admin')
const editors: AuthHook = app.authorize('editor', 'publisher')

// @ts-expect-error roles are strings
app.authorize(1)

// @ts-expect-error authorize returns a hook, not a boolean
const allowed: boolean = app.authorize('admin')

app.get('/orders', { onRequest: authenticate }, async (request) => {
  const sub: string = request.user.sub
  const roles: string[] = request.user.roles
  const sessionId: string = request.user.sid
  const expires: number = request.user.exp
  const claims: AccessTokenClaims = request.user

  // @ts-expect-error `sub` is a string (the user id), never a number
  const numericSub: number = request.user.sub

  // @ts-expect-error `roles` is an array of strings
  const role: string = request.user.roles

  // @ts-expect-error there is no `email` claim in an access token
  const email: string = request.user.email

  return { sub, roles, sessionId, expires, claims, numericSub, role, email }
})

app.get('/admin', { onRequest: [authenticate, adminOnly] }, async (request) => ({ sub: request.user.sub }))
app.get('/edit', { preHandler: [app.authenticate, editors] }, async () => ({ ok: true }))

// `request.jwtVerify()` comes from @fastify/jwt, which types its result by the
// caller's type argument; the verified claims are also typed on `request.user`.
app.get('/verify', async (request) => {
  const claims = await request.jwtVerify<AccessTokenClaims>()
  const sub: string = claims.sub
  const userSub: string = request.user.sub
  return { sub, userSub, allowed }
})
