// A resource server: an ordinary Fastify app that trusts Gatehouse's access
// tokens. It never sees a password or a refresh token; it verifies tokens
// with the public keys Gatehouse publishes and follows its revocation feed.
import Fastify from 'fastify'
import gatehouse from 'gatehouse'

function env (name: string, fallback?: string): string {
  const value = process.env[name]
  if (value !== undefined && value !== '') return value
  if (fallback !== undefined) return fallback
  process.stderr.write(`resource-server: ${name} is required\n`)
  process.exit(1)
}

function milliseconds (name: string): number | undefined {
  const value = process.env[name]
  if (value === undefined || value === '') return undefined
  const ms = Number(value)
  if (!Number.isInteger(ms) || ms <= 0) {
    process.stderr.write(`resource-server: ${name} must be a positive number of milliseconds\n`)
    process.exit(1)
  }
  return ms
}

const host = env('HOST', '127.0.0.1')
const port = Number(env('PORT', '4000'))
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write('resource-server: PORT must be a port number (0 picks a free one)\n')
  process.exit(1)
}

const app = Fastify({ logger: true })

await app.register(gatehouse, {
  jwksUrl: env('GATEHOUSE_JWKS_URL'),
  issuer: env('JWT_ISSUER', 'gatehouse'),
  audience: env('JWT_AUDIENCE', 'gatehouse'),
  // Without it, a logged-out session's access tokens work here until they expire.
  revocationPollInterval: milliseconds('REVOCATION_POLL_INTERVAL')
})

app.get('/health', async () => ({ status: 'ok' }))

// Guards run as onRequest hooks, so a refused request is answered before its
// body is read. `request.user` holds the verified claims of the access token.
app.get('/orders', { onRequest: app.authenticate }, async (request) => ({ sub: request.user.sub }))

// A valid token without the `admin` role gets 403 `forbidden`.
app.get('/admin', { onRequest: [app.authenticate, app.authorize('admin')] }, async (request) => ({ sub: request.user.sub, roles: request.user.roles }))

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    app.log.info({ signal }, 'closing')
    // Stops accepting connections and lets requests in flight finish.
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
