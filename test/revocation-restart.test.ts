import { join } from 'node:path'
import t from 'tap'
import { builtServer, callServer, PROCESS_ENV, startServer, type RunningServer } from './helpers/server-process.js'

// What `npm start` runs: the app compiled by tsconfig.build.json, started as its own process.
const serverJs = builtServer()

// RFC 6750 §3 as API.md words it.
const INVALID_TOKEN_CHALLENGE = /^Bearer realm="gatehouse", error="invalid_token", error_description="[^"]+"$/

const email = 'revoked-restart@example.com'
const password = 'correct horse battery staple'

async function login (server: RunningServer) {
  const reply = await callServer(server, 'POST', '/auth/login', { body: { email, password } })
  if (reply.status !== 200) throw new Error(`login failed: ${reply.status}`)
  const token = String(reply.body.access_token)
  const { sid } = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sid: string }
  return { token, sid }
}

t.test('a logged-out session\'s unexpired access token stays refused after the server restarts', async t => {
  const env = { ...PROCESS_ENV, LOG_LEVEL: 'info', DATABASE_URL: `sqlite:${join(t.testdir(), 'gatehouse.db')}` }

  const first = await startServer(t, serverJs, env)
  t.equal((await callServer(first, 'POST', '/auth/signup', { body: { email, password } })).status, 201, 'signed up')
  const s1 = await login(first)
  const s2 = await login(first)
  t.not(s1.sid, s2.sid, 'two logins open two sessions')

  t.equal((await callServer(first, 'POST', '/auth/logout?scope=local', { token: s1.token })).status, 204, 'S1 logs out')
  t.equal((await callServer(first, 'GET', '/auth/me', { token: s1.token })).status, 401, 'S1 is refused at once')
  t.equal((await callServer(first, 'GET', '/auth/me', { token: s2.token })).status, 200, 'S2 is untouched')
  t.same(await first.stop('SIGTERM'), { code: 0, signal: null }, 'SIGTERM closes gracefully')

  const second = await startServer(t, serverJs, env)
  const refused = await callServer(second, 'GET', '/auth/me', { token: s1.token })
  t.equal(refused.status, 401, 'S1\'s access token is still refused after the restart')
  t.equal(refused.body.code, 'invalid_token', 'code invalid_token')
  t.match(refused.headers.get('www-authenticate'), INVALID_TOKEN_CHALLENGE, 'with the RFC 6750 challenge')

  const accepted = await callServer(second, 'GET', '/auth/me', { token: s2.token })
  t.equal(accepted.status, 200, 'S2\'s access token still works')
  t.match(accepted.body, { user: { email } }, 'as its user')

  const feed = await callServer(second, 'GET', '/.well-known/revoked-sessions')
  t.equal(feed.status, 200, 'the revocation feed answers')
  const sids = (feed.body.sessions as Array<{ sid: string }>).map(s => s.sid)
  t.same(sids, [s1.sid], 'the revocation feed lists S1 and only S1')

  t.same(await second.stop('SIGTERM'), { code: 0, signal: null }, 'the restarted server closes gracefully too')
})
