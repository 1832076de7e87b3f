// Gatehouse inside your own Fastify app: the whole auth server is mounted
// under /auth (signup at POST /auth/auth/signup, keys at
// /auth/.well-known/jwks.json), and the app's own routes are guarded by the
// same keys and sessions, checked in process.
import Fastify from 'fastify'
import gatehouseServer from 'gatehouse/server'

const host = process.env.HOST || '127.0.0.1'
const port = Number(process.env.PORT || 4000)
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write('embedded: PORT must be a port number (0 picks a free one)\n')
  process.exit(1)
}

const app = Fastify({ logger: true })

// Options are Gatehouse's environment variables in camelCase (API.md); an
// invalid one fails here, at start, with a message naming it.
await app.register(gatehouseServer, {
  prefix: '/auth',
  databaseUrl: process.env.DATABASE_URL || 'sqlite:./data/embedded.db'
})

// `app.authenticate` is decorated on this app by gatehouse/server.
app.get('/hello', { onRequest: app.authenticate }, async (request) => ({ message: `Hello, ${request.user.sub}` }))

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    app.log.info({ signal }, 'closing')
    // Stops accepting connections, lets requests in flight finish, closes the database.
    app.close().then(() => process.exit(0), (err: unknown) => {
      app.log.error({ err }, 'close failed')
      process.exit(1)
    })
  })
}

try {
  await app.listen({ host, port })
} catch (err) {
  app.log.error({ err }, 'could not listen')
  process.exit(1)
}
