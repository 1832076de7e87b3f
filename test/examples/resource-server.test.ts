import { createPrivateKey, createPublicKey, randomUUID, type JsonWebKey } from 'node:crypto'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import { rotateSigningKeys } from '../../src/server/embed.js'
import { decode, es256, forge, hs256, nowSeconds, strangerKeys, type JsonObject } from '../helpers/forge.js'
import { scratchDir } from '../helpers/scratch.js'
import { builtServer, callServer, PROCESS_ENV, REPO_ROOT, runToExit, startServer, type RunningServer } from '../helpers/server-process.js'

// Issue 4's acceptance: Gatehouse and the resource-server example as two real
// processes on loopback; the example trusts Gatehouse's tokens through the
// verifier plugin (JWKS + revocation feed) and nothing else.
const POLL_INTERVAL = 500
const databaseFile = join(scratchDir(import.meta.url), 'gatehouse.db')
const databaseUrl = `sqlite:${databaseFile}`
const password = 'correct horse battery staple'

const gatehouse = await startServer(t, builtServer(), { ...PROCESS_ENV, DATABASE_URL: databaseUrl })
const example = join(REPO_ROOT, 'examples', 'resource-server', 'server.ts')
// Run the way its README says: TypeScript through tsx, importing the built package by its name.
const RUN_TS = { NODE_OPTIONS: '--import tsx' }
const resourceServer = await startServer(t, example, {
  ...RUN_TS,
  GATEHOUSE_JWKS_URL: `${gatehouse.url}/.well-known/jwks.json`,
  REVOCATION_POLL_INTERVAL: String(POLL_INTERVAL),
  HOST: '127.0.0.1',
  PORT: '0'
})

async function login (email: string) {
  const reply = await callServer(gatehouse, 'POST', '/auth/login', { body: { email, password } })
  if (reply.status !== 200) throw new Error(`login failed: ${reply.status}`)
  return String(reply.body.access_token)
}

async function signedUp (email: string) {
  const reply = await callServer(gatehouse, 'POST', '/auth/signup', { body: { email, password } })
  if (reply.status !== 201) throw new Error(`signup failed: ${reply.status}`)
  return login(email)
}

const orders = (token: string) => callServer(resourceServer, 'GET', '/orders', { token })

/** The store's active signing key, as an attacker who stole it (or a test) would use it. */
function activeKey () {
  const db = new Database(databaseFile, { readonly: true })
  try {
    const row = db.prepare("SELECT kid, private_jwk FROM signing_keys WHERE state = 'active'").get() as { kid: string, private_jwk: string }
    const privateKey = createPrivateKey({ key: JSON.parse(row.private_jwk) as JsonWebKey, format: 'jwk' })
    return { kid: row.kid, privateKey, publicPem: createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString() }
  } finally {
    db.close()
  }
}

/** A token of Gatehouse's shape, re-signed with Gatehouse's own key after `changes`. */
function resigned (token: string, changes: JsonObject) {
  const key = activeKey()
  return forge({ alg: 'ES256', typ: 'at+jwt', kid: key.kid }, { ...decode(token).payload, ...changes }, es256(key.privateKey))
}

async function assertRefused (t: Test, server: RunningServer, token: string, what: string) {
  const reply = await callServer(server, 'GET', '/orders', { token })
  t.equal(reply.status, 401, `${what}: 401`)
  t.equal(reply.body.code, 'invalid_token', `${what}: invalid_token`)
  t.match(reply.headers.get('www-authenticate'), /^Bearer realm="gatehouse", error="invalid_token"/, `${what}: challenge`)
}

const aliceToken = await signedUp('alice@example.com')
const alice = decode(aliceToken).payload

t.test('a valid token reaches the resource server, which sees its sub', async t => {
  const reply = await orders(aliceToken)
  t.equal(reply.status, 200)
  t.same(reply.body, { sub: alice.sub })
})

t.test('tampered, expired, wrong-issuer, wrong-audience and HS256-confusion tokens are 401', async t => {
  const [header, payload, signature] = aliceToken.split('.') as [string, string, string]
  const flipped = `${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`
  await assertRefused(t, resourceServer, `${header}.${payload}.${flipped}`, 'tampered signature')
  const otherClaims = Buffer.from(JSON.stringify({ ...alice, sub: 'mallory' })).toString('base64url')
  await assertRefused(t, resourceServer, `${header}.${otherClaims}.${signature}`, 'tampered claims')

  // Signed with Gatehouse's real key, so only the claim checks can refuse them.
  t.equal((await orders(resigned(aliceToken, {}))).status, 200, 'the re-signed original is accepted (the forgery itself is sound)')
  await assertRefused(t, resourceServer, resigned(aliceToken, { iat: nowSeconds() - 120, exp: nowSeconds() - 60 }), 'expired')
  await assertRefused(t, resourceServer, resigned(aliceToken, { iss: 'https://evil.example' }), 'wrong issuer')
  await assertRefused(t, resourceServer, resigned(aliceToken, { aud: 'billing' }), 'wrong audience')
  await assertRefused(t, resourceServer, resigned(aliceToken, { nbf: nowSeconds() + 600 }), 'not yet valid')

  // The classic confusion: HMAC with the public key, which anyone can fetch, as the secret.
  const { kid, publicPem } = activeKey()
  await assertRefused(t, resourceServer, forge({ alg: 'HS256', typ: 'at+jwt', kid }, alice, hs256(publicPem)), 'HS256 with the public key')
  await assertRefused(t, resourceServer, forge({ alg: 'none', typ: 'at+jwt', kid }, alice, () => ''), 'alg none')
})

t.test('a valid token without the required role is 403 forbidden', async t => {
  const reply = await callServer(resourceServer, 'GET', '/admin', { token: aliceToken })
  t.equal(reply.status, 403)
  t.equal(reply.body.code, 'forbidden')
  t.equal(reply.headers.get('www-authenticate'), 'Bearer realm="gatehouse", error="insufficient_scope"')
})

t.test('after a global logout the old access token is refused within revocationPollInterval + 1 s', async t => {
  const token = await signedUp('bob@example.com')
  t.equal((await orders(token)).status, 200, 'accepted before the logout')
  t.equal((await callServer(gatehouse, 'POST', '/auth/logout?scope=global', { token })).status, 204)
  const loggedOutAt = Date.now()

  let reply = await orders(token)
  while (reply.status === 200 && Date.now() - loggedOutAt < POLL_INTERVAL + 1000) {
    await new Promise(resolve => setTimeout(resolve, 50))
    reply = await orders(token)
  }
  t.equal(reply.status, 401, `refused ${Date.now() - loggedOutAt} ms after the logout`)
  t.equal(reply.body.message, 'The access token has been revoked')
  t.equal((await orders(aliceToken)).status, 200, 'other sessions are untouched')
})

t.test('the example answers /health without a token', async t => {
  const reply = await callServer(resourceServer, 'GET', '/health')
  t.equal(reply.status, 200)
  t.same(reply.body, { status: 'ok' })
})

t.test('a token carrying the admin role reaches /admin', async t => {
  await signedUp('root@example.com')
  // Gatehouse has no endpoint that grants roles: an operator sets them in the store.
  const db = new Database(databaseFile)
  db.prepare('UPDATE users SET roles = ? WHERE email = ?').run(JSON.stringify(['user', 'admin']), 'root@example.com')
  db.close()
  const token = await login('root@example.com')
  const reply = await callServer(resourceServer, 'GET', '/admin', { token })
  t.equal(reply.status, 200)
  t.same(reply.body, { sub: decode(token).payload.sub, roles: ['user', 'admin'] })
})

t.test('after a key rotation tokens of the old and the new key verify; an unpublished key does not', async t => {
  const before = decode(aliceToken).header.kid
  // Gatehouse published its next key at start, moments ago: this test does not wait out
  // NEXT_KEY_MIN_AGE_MS, and the example refetches the JWKS for the new kid anyway.
  const rotated = await rotateSigningKeys({ databaseUrl }, { minNextKeyAge: 0 })
  t.equal(rotated.retired[0], before, 'the key that signed so far is retired')

  // Gatehouse re-reads its keys every few seconds; wait until it signs with the new one.
  let token = await login('alice@example.com')
  const deadline = Date.now() + 10_000
  while (decode(token).header.kid !== rotated.active && Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 250))
    token = await login('alice@example.com')
  }
  t.equal(decode(token).header.kid, rotated.active, 'new tokens carry the new kid')

  t.equal((await orders(token)).status, 200, 'a token of the new key verifies')
  t.equal((await orders(aliceToken)).status, 200, 'a token of the retired key still verifies')
  const jwks = await callServer(gatehouse, 'GET', '/.well-known/jwks.json')
  t.same((jwks.body.keys as Array<{ kid: string }>).map(k => k.kid).sort(), [before, rotated.active, rotated.next].sort(), 'retired, active and next are published')

  const stranger = strangerKeys.es256()
  await assertRefused(t, resourceServer, forge({ alg: 'ES256', typ: 'at+jwt', kid: randomUUID() }, alice, es256(stranger)), 'unpublished key')
  await assertRefused(t, resourceServer, forge({ alg: 'ES256', typ: 'at+jwt', kid: rotated.active }, alice, es256(stranger)), 'unpublished key under a published kid')

  t.test('with Gatehouse stopped, cached keys keep working and an unknown kid is 401/503, never 500', async t => {
    t.same(await gatehouse.stop(), { code: 0, signal: null })
    t.equal((await orders(token)).status, 200, 'new-key token')
    t.equal((await orders(aliceToken)).status, 200, 'old-key token')

    // Past the refetch gap, so this lookup really tries the stopped JWKS.
    await new Promise(resolve => setTimeout(resolve, 5_100))
    const unknown = await orders(forge({ alg: 'ES256', typ: 'at+jwt', kid: randomUUID() }, alice, es256(strangerKeys.es256())))
    t.equal(unknown.status, 503, 'an unknown kid cannot be checked now')
    t.same(unknown.body, { statusCode: 503, error: 'Service Unavailable', code: 'not_ready', message: 'The keys that verify access tokens cannot be fetched right now' })
    t.ok(unknown.headers.get('retry-after'), 'Retry-After')
    // The log line travels through a pipe and may arrive after the reply.
    for (let waited = 0; !/JWKS unreachable/.test(resourceServer.stdout()) && waited < 3_000; waited += 50) await new Promise(resolve => setTimeout(resolve, 50))
    t.match(resourceServer.stdout(), /JWKS unreachable/, 'the outage is logged')
    t.equal(resourceServer.stdout().match(/revocation feed unreachable/g)?.length, 1, 'the failing feed is logged once, not at every poll')
  })
})

t.test('the example refuses to start without GATEHOUSE_JWKS_URL', async t => {
  const run = await runToExit(t, example, { ...RUN_TS, PORT: '0' })
  t.equal(run.code, 1)
  t.match(run.stderr, 'GATEHOUSE_JWKS_URL is required')
})

t.test('SIGTERM closes the example gracefully', async t => {
  t.same(await resourceServer.stop('SIGTERM'), { code: 0, signal: null })
})
