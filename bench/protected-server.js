// A Gatehouse server for the revocation-check benchmark. argv[2] is the
// variant: "with" (as shipped) or "without" (the in-memory revocation lookup
// short-circuited), argv[3] the port. Prints one JSON line with a valid token.
import { buildServer } from '../dist/src/server/build.js'
import { parseConfig } from '../dist/src/server/config.js'

const [variant, port] = process.argv.slice(2)
const config = parseConfig({ DATABASE_URL: 'sqlite::memory:', LOG_LEVEL: 'silent', RATE_LIMIT_MAX: '10000000', PORT: port })
const app = await buildServer(config, { logger: false })
app.get('/bench/protected', { onRequest: app.authenticate }, async (request) => ({ sub: request.user.sub }))
await app.ready()

// A realistic list: ten thousand revoked sessions the lookup has to miss.
for (let i = 0; i < 10_000; i++) app.revocations.add(`revoked-${i}`, Date.now() + 3_600_000)
if (variant === 'without') app.revocations.revoked.has = () => false

await app.inject({ method: 'POST', url: '/auth/signup', payload: { email: 'bench@example.com', password: 'bench-password' } })
const login = await app.inject({ method: 'POST', url: '/auth/login', payload: { email: 'bench@example.com', password: 'bench-password' } })
await app.listen({ host: '127.0.0.1', port: Number(port) })
process.stdout.write(JSON.stringify({ token: login.json().access_token }) + '\n')
