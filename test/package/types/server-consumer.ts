// An app that mounts the whole Gatehouse server, typechecked against the built
// declarations of `gatehouse/server` (dist/src/server/embed.d.ts). Every
// `@ts-expect-error` marks a misuse the types must refuse.
import Fastify from 'fastify'
import gatehouseServer, { type GatehouseServerOptions } from 'gatehouse/server'

const app = Fastify()

await app.register(gatehouseServer, {
  prefix: '/auth',
  databaseUrl: 'sqlite::memory:',
  jwtAlg: 'ES256',
  jwtIssuer: 'gatehouse',
  jwtAudience: 'gatehouse',
  accessTokenTtl: 900,
  refreshTokenTtl: 2_592_000,
  sessionMaxAge: 7_776_000,
  refreshReuseInterval: 0,
  loginMaxAttempts: 10,
  loginWindow: 900,
  rateLimitMax: 300,
  argon2MemoryCost: 19_456,
  argon2TimeCost: 2,
  argon2Parallelism: 1
})

const hs256: GatehouseServerOptions = { prefix: '/tokens', jwtAlg: 'HS256', jwtSecret: 'a shared secret of at least thirty-two bytes' }
await app.register(gatehouseServer, hs256)

// @ts-expect-error accessTokenTtl is a number of seconds, not a string
await app.register(gatehouseServer, { prefix: '/auth', accessTokenTtl: '900' })

// @ts-expect-error an option that does not exist
await app.register(gatehouseServer, { prefix: '/auth', databaseUrl: 'sqlite::memory:', databaseURL: 'sqlite::memory:' })

// @ts-expect-error prefix is required: at the root Gatehouse's 404s would take over the host's
await app.register(gatehouseServer, { databaseUrl: 'sqlite::memory:' })

// @ts-expect-error RS256 is left out on purpose
const rsa: GatehouseServerOptions = { jwtAlg: 'RS256' }

// @ts-expect-error the host's listener settings are not options of the mounted server
const port: GatehouseServerOptions = { port: 3000 }

// The host's own routes are guarded by the decorators gatehouse/server adds.
app.get('/hello', { onRequest: app.authenticate }, async (request) => {
  const sub: string = request.user.sub
  return { message: `Hello, ${sub}`, rsa, port }
})
app.get('/admin', { onRequest: app.authorize('admin') }, async (request) => {
  const roles: string[] = request.user.roles
  return { roles }
})
