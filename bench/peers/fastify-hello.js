// The ceiling: bare Fastify answering the guest greeting, no auth at all.
import { peerRequire, port, ready } from './common.js'

const Fastify = peerRequire('fastify')
const app = Fastify({ logger: false })
app.get('/', async () => ({ message: 'Hello, guest!' }))
await app.listen({ host: '127.0.0.1', port })
ready()
