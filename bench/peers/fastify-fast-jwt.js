// For (a'), where every token is new: bare Fastify verifying each token with
// fast-jwt (ES256, no cache) and nothing else, no user lookup, no revocation.
// What any Fastify server pays for HTTP plus one signature check per request.
import { peerRequire, port, publicKeyPem, ready, ISSUER, AUDIENCE } from './common.js'

const Fastify = peerRequire('fastify')
const { createVerifier } = peerRequire('fast-jwt')

const verify = createVerifier({ key: publicKeyPem(), algorithms: ['ES256'], allowedIss: ISSUER, allowedAud: AUDIENCE, checkTyp: 'at+jwt', cache: false })
const app = Fastify({ logger: false })
app.get('/', async (request, reply) => {
  const header = request.headers.authorization
  if (header === undefined) return { message: 'Hello, guest!' }
  try {
    return { message: `Hello, ${verify(header.slice('Bearer '.length)).sub}!` }
  } catch {
    return reply.code(401).send({ message: 'invalid token' })
  }
})
await app.listen({ host: '127.0.0.1', port })
ready()
