// Hono on Node (@hono/node-server) with hono/jwt's middleware, ES256 with
// Gatehouse's public key as PEM; typ 'at+jwt' (RFC 9068) must be allowed,
// hono/jwt accepts only 'JWT' by default. The greeting route of the seed.
import { peerRequire, port, publicKeyPem, ready, ISSUER, AUDIENCE } from './common.js'

const { Hono } = peerRequire('hono')
const { jwt } = peerRequire('hono/jwt')
const { serve } = peerRequire('@hono/node-server')

const app = new Hono()
const authenticate = jwt({ secret: publicKeyPem(), alg: 'ES256', verification: { iss: ISSUER, aud: AUDIENCE, typ: 'at+jwt' } })

// The token is optional on the greeting, but one that is present must be valid.
app.use('/', (c, next) => c.req.header('authorization') === undefined ? next() : authenticate(c, next))
app.get('/', (c) => {
  const payload = c.get('jwtPayload')
  return c.json({ message: payload ? `Hello, ${payload.sub}!` : 'Hello, guest!' })
})

serve({ fetch: app.fetch, hostname: '127.0.0.1', port }, ready)
