import Fastify from 'fastify'
import { test } from 'tap'
import gatehouse, { type GatehouseOptions } from '../../../src/verify/index.js'
import { build } from '../../helpers/build.js'
import { eventually } from '../../helpers/clock.js'
import { eddsa, es256, forge, hs256, INVALID_TOKEN_CHALLENGE, INVALID_TOKEN_MESSAGE, MISSING_TOKEN_CHALLENGE, unsigned } from '../../helpers/forge.js'
import { accessClaims, bearer, logCollector, newKey, nowSeconds, resourceApp, signAccessToken, startJwks } from '../../helpers/tokens.js'

// The package's main export: a resource server verifying Gatehouse tokens against a JWKS it fetches.

const invalidToken = (message = INVALID_TOKEN_MESSAGE) => ({ statusCode: 401, error: 'Unauthorized', code: 'invalid_token', message })

test('a token signed by a published key is accepted and fills request.user', async (t) => {
  const key = newKey('ES256')
  const jwks = await startJwks(t, [key.jwk])
  const app = await resourceApp(t, { jwksUrl: jwks.url })
  const token = signAccessToken(key, { sub: 'user-7', sid: 'session-7', roles: ['user', 'admin'] })
  const res = await app.inject({ url: '/orders', headers: bearer(token) })
  t.equal(res.statusCode, 200)
  t.strictSame(res.json(), { sub: 'user-7', sid: 'session-7', roles: ['user', 'admin'] })
})

test('an EdDSA key from the JWKS verifies EdDSA tokens', async (t) => {
  const key = newKey('EdDSA')
  const jwks = await startJwks(t, [key.jwk])
  const app = await resourceApp(t, { jwksUrl: jwks.url })
  const res = await app.inject({ url: '/orders', headers: bearer(signAccessToken(key)) })
  t.equal(res.statusCode, 200)
})

test('request.jwtVerify() in a handler verifies the token and sets request.user', async (t) => {
  const key = newKey('ES256')
  const jwks = await startJwks(t, [key.jwk])
  const app = await resourceApp(t, { jwksUrl: jwks.url })
  const res = await app.inject({ url: '/verify', headers: bearer(signAccessToken(key, { sub: 'user-9' })) })
  t.equal(res.statusCode, 200)
  t.strictSame(res.json(), { sub: 'user-9', user: 'user-9' })
  const bad = await app.inject({ url: '/verify', headers: bearer(signAccessToken(key, { iss: 'elsewhere' })) })
  t.equal(bad.statusCode, 401, 'a token jwtVerify() refuses makes the handler fail with 401')
})

test('request.jwtVerify() failures reach the client in the contract shape even through Fastify\'s default error handler', async (t) => {
  const key = newKey('ES256')
  const jwks = await startJwks(t, [key.jwk])
  const app = await resourceApp(t, { jwksUrl: jwks.url })
  const cases: Array<[string, Record<string, string>, ReturnType<typeof invalidToken>, string]> = [
    ['no token', {}, { statusCode: 401, error: 'Unauthorized', code: 'missing_token', message: 'An access token is required' }, MISSING_TOKEN_CHALLENGE],
    ['two-part header', { authorization: 'Bearer a b' }, invalidToken(), INVALID_TOKEN_CHALLENGE],
    ['another scheme', { authorization: 'Basic YTpi' }, invalidToken(), INVALID_TOKEN_CHALLENGE],
    ['wrong issuer', bearer(signAccessToken(key, { iss: 'elsewhere' })), invalidToken(), INVALID_TOKEN_CHALLENGE],
    ['expired', bearer(signAccessToken(key, { iat: nowSeconds() - 120, exp: nowSeconds() - 60 })), invalidToken(), INVALID_TOKEN_CHALLENGE],
    ['unknown key', bearer(signAccessToken({ ...newKey(), kid: 'unpublished' })), invalidToken('The access token is signed by an unknown key'),
      'Bearer realm="gatehouse", error="invalid_token", error_description="The access token is signed by an unknown key"']
  ]
  for (const [what, headers, body, challenge] of cases) {
    const res = await app.inject({ url: '/verify', headers })
    t.equal(res.statusCode, body.statusCode, `${what}: status`)
    t.same(res.json(), body, `${what}: body, with no library code`)
    t.equal(res.headers['www-authenticate'], challenge, `${what}: challenge`)
  }
})

test('a request without a token is 401 missing_token with the bare Bearer challenge', async (t) => {
  const jwks = await startJwks(t, [newKey().jwk])
  const app = await resourceApp(t, { jwksUrl: jwks.url })
  const res = await app.inject({ url: '/orders' })
  t.equal(res.statusCode, 401)
  t.strictSame(res.json(), { statusCode: 401, error: 'Unauthorized', code: 'missing_token', message: 'An access token is required' })
  t.equal(res.headers['www-authenticate'], MISSING_TOKEN_CHALLENGE)
  t.equal(jwks.requests, 1, 'only the fetch at start: none for a request without a token')
})

test('a malformed Authorization header is 401 invalid_token', async (t) => {
  const key = newKey()
  const jwks = await startJwks(t, [key.jwk])
  const app = await resourceApp(t, { jwksUrl: jwks.url })
  const token = signAccessToken(key)
  for (const authorization of [`Basic ${token}`, 'Bearer', 'Bearer ', `Bearer  ${token}`, `Bearer ${token} `, `Bearer${token}`, 'Bearer a.b', `Bearer ${token}=`, 'Bearer not-a-jwt']) {
    const res = await app.inject({ url: '/orders', headers: { authorization } })
    t.equal(res.statusCode, 401, authorization)
    t.strictSame(res.json(), invalidToken(), `${authorization}: body`)
    t.equal(res.headers['www-authenticate'], INVALID_TOKEN_CHALLENGE, `${authorization}: challenge`)
  }
  const lower = await app.inject({ url: '/orders', headers: { authorization: `bEaReR ${token}` } })
  t.equal(lower.statusCode, 200, 'the scheme is case-insensitive')
  const query = await app.inject({ url: `/orders?access_token=${token}` })
  t.equal(query.statusCode, 401, 'a token in the query string is not taken')
  t.equal(query.json<{ code: string }>().code, 'missing_token')
})

test('a token with a tampered signature or payload is refused', async (t) => {
  const key = newKey()
  const jwks = await startJwks(t, [key.jwk])
  const app = await resourceApp(t, { jwksUrl: jwks.url })
  const token = signAccessToken(key)
  const [header, payload, signature = ''] = token.split('.')
  const flipped = `${signature.slice(0, -2)}${signature.at(-2) === 'A' ? 'B' : 'A'}${signature.at(-1)}`
  const otherPayload = Buffer.from(JSON.stringify(accessClaims({ roles: ['admin'] }))).toString('base64url')
  for (const tampered of [`${header}.${payload}.${flipped}`, `${header}.${otherPayload}.${signature}`, `${header}.${payload}.`]) {
    const res = await app.inject({ url: '/orders', headers: bearer(tampered) })
    t.equal(res.statusCode, 401)
    t.strictSame(res.json(), invalidToken())
  }
  const stranger = forge({ alg: 'ES256', typ: 'at+jwt', kid: key.kid }, accessClaims(), es256(newKey().privateKey))
  t.equal((await app.inject({ url: '/orders', headers: bearer(stranger) })).statusCode, 401, 'signed by another key under a known kid')
})

test('an expired token is refused beyond the clock tolerance and accepted within it', async (t) => {
  const key = newKey()
  const jwks = await startJwks(t, [key.jwk])
  const app = await resourceApp(t, { jwksUrl: jwks.url, clockTolerance: 5_000 })
  const iat = nowSeconds() - 900
  const late = await app.inject({ url: '/orders', headers: bearer(signAccessToken(key, { iat, exp: nowSeconds() - 2 })) })
  t.equal(late.statusCode, 200, 'two seconds past exp is within five seconds of tolerance')
  const expired = await app.inject({ url: '/orders', headers: bearer(signAccessToken(key, { iat, exp: nowSeconds() - 10 })) })
  t.equal(expired.statusCode, 401)
  t.strictSame(expired.json(), invalidToken())
  t.equal(expired.headers['www-authenticate'], INVALID_TOKEN_CHALLENGE)
})

test('a smaller clockTolerance refuses a token a few seconds past exp', async (t) => {
  const key = newKey()
  const jwks = await startJwks(t, [key.jwk])
  const app = await resourceApp(t, { jwksUrl: jwks.url, clockTolerance: 0 })
  const res = await app.inject({ url: '/orders', headers: bearer(signAccessToken(key, { iat: nowSeconds() - 900, exp: nowSeconds() - 2 })) })
  t.equal(res.statusCode, 401)
})

test('a token not valid yet (nbf or iat in the future) is refused', async (t) => {
  const key = newKey()
  const jwks = await startJwks(t, [key.jwk])
  const app = await resourceApp(t, { jwksUrl: jwks.url })
  const nbf = await app.inject({ url: '/orders', headers: bearer(signAccessToken(key, { nbf: nowSeconds() + 60 })) })
  t.equal(nbf.statusCode, 401)
  t.strictSame(nbf.json(), invalidToken())
  const iat = await app.inject({ url: '/orders', headers: bearer(signAccessToken(key, { iat: nowSeconds() + 60, exp: nowSeconds() + 900 })) })
  t.equal(iat.statusCode, 401)
  const nbfNow = await app.inject({ url: '/orders', headers: bearer(signAccessToken(key, { nbf: nowSeconds() })) })
  t.equal(nbfNow.statusCode, 200, 'an nbf that has passed is fine')
})

test('a token from another issuer or for another audience is refused', async (t) => {
  const key = newKey()
  const jwks = await startJwks(t, [key.jwk])
  const app = await resourceApp(t, { jwksUrl: jwks.url })
  for (const changes of [{ iss: 'evil' }, { aud: 'billing' }, { aud: ['billing', 'orders'] }, { iss: undefined }, { aud: undefined }]) {
    const res = await app.inject({ url: '/orders', headers: bearer(signAccessToken(key, changes)) })
    t.equal(res.statusCode, 401, JSON.stringify(changes))
    t.strictSame(res.json(), invalidToken())
  }
})

test('issuer and audience options name the iss and aud a token must carry', async (t) => {
  const key = newKey()
  const jwks = await startJwks(t, [key.jwk])
  const app = await resourceApp(t, { jwksUrl: jwks.url, issuer: 'https://auth.example', audience: 'orders' })
  t.equal((await app.inject({ url: '/orders', headers: bearer(signAccessToken(key, { iss: 'https://auth.example', aud: 'orders' })) })).statusCode, 200)
  t.equal((await app.inject({ url: '/orders', headers: bearer(signAccessToken(key, { iss: 'https://auth.example', aud: ['gatehouse', 'orders'] })) })).statusCode, 200, 'aud may be a list holding the audience')
  t.equal((await app.inject({ url: '/orders', headers: bearer(signAccessToken(key)) })).statusCode, 401, 'the default gatehouse iss and aud no longer pass')
})

test('a token whose typ is not at+jwt is refused', async (t) => {
  const key = newKey()
  const jwks = await startJwks(t, [key.jwk])
  const app = await resourceApp(t, { jwksUrl: jwks.url })
  for (const typ of ['JWT', 'id+jwt', undefined]) {
    const token = forge({ alg: 'ES256', kid: key.kid, ...(typ === undefined ? {} : { typ }) }, accessClaims(), es256(key.privateKey))
    const res = await app.inject({ url: '/orders', headers: bearer(token) })
    t.equal(res.statusCode, 401, String(typ))
    t.strictSame(res.json(), invalidToken())
  }
})

test('a token missing a required claim or with a claim of the wrong type is refused', async (t) => {
  const key = newKey()
  const jwks = await startJwks(t, [key.jwk])
  const app = await resourceApp(t, { jwksUrl: jwks.url })
  for (const changes of [{ sub: undefined }, { sid: undefined }, { jti: undefined }, { exp: undefined }, { roles: undefined }, { roles: 'admin' }, { sub: 42 }]) {
    for (const url of ['/orders', '/verify']) {
      const res = await app.inject({ url, headers: bearer(signAccessToken(key, changes)) })
      t.equal(res.statusCode, 401, `${url} ${JSON.stringify(changes)}`)
    }
  }
})

test('an HS256 token MACed with the published public key is refused without fetching a key', async (t) => {
  const key = newKey()
  const jwks = await startJwks(t, [key.jwk])
  const app = await resourceApp(t, { jwksUrl: jwks.url })
  const pem = key.publicKey.export({ type: 'spki', format: 'pem' }).toString()
  const jwkJson = JSON.stringify(key.jwk)
  for (const secret of [pem, jwkJson]) {
    const token = forge({ alg: 'HS256', typ: 'at+jwt', kid: key.kid }, accessClaims(), hs256(secret))
    const res = await app.inject({ url: '/orders', headers: bearer(token) })
    t.equal(res.statusCode, 401)
    t.strictSame(res.json(), invalidToken())
  }
  t.equal(jwks.requests, 1, 'only the fetch at start: an algorithm outside the allow-list never reaches the key source')
})

test('an unsigned token (alg none) is refused', async (t) => {
  const key = newKey()
  const jwks = await startJwks(t, [key.jwk])
  const app = await resourceApp(t, { jwksUrl: jwks.url })
  for (const alg of ['none', 'None', 'NONE']) {
    const token = forge({ alg, typ: 'at+jwt', kid: key.kid }, accessClaims(), unsigned)
    const res = await app.inject({ url: '/orders', headers: bearer(token) })
    t.equal(res.statusCode, 401, alg)
    t.strictSame(res.json(), invalidToken())
  }
})

test('a token without a kid, or with a kid that is not a string, is refused as signed by an unknown key', async (t) => {
  const key = newKey()
  const jwks = await startJwks(t, [key.jwk])
  const app = await resourceApp(t, { jwksUrl: jwks.url })
  for (const kid of [undefined, 42, null, [key.kid], { kid: key.kid }]) {
    const token = forge({ alg: 'ES256', typ: 'at+jwt', ...(kid === undefined ? {} : { kid }) }, accessClaims(), es256(key.privateKey))
    const res = await app.inject({ url: '/orders', headers: bearer(token) })
    t.equal(res.statusCode, 401, JSON.stringify(kid))
    t.strictSame(res.json(), invalidToken('The access token is signed by an unknown key'))
  }
  t.equal(jwks.requests, 1, 'only the fetch at start: none for a kid that cannot name a key')
})

test('a token naming an unpublished kid is 401, and a burst of unknown kids fetches the JWKS at most twice', async (t) => {
  const key = newKey()
  const jwks = await startJwks(t, [key.jwk])
  const app = await resourceApp(t, { jwksUrl: jwks.url })
  t.equal((await app.inject({ url: '/orders', headers: bearer(signAccessToken(key)) })).statusCode, 200)
  const attacker = newKey()
  const one = await app.inject({ url: '/orders', headers: bearer(signAccessToken({ ...attacker, kid: 'no-such-kid' })) })
  t.equal(one.statusCode, 401)
  t.strictSame(one.json(), invalidToken('The access token is signed by an unknown key'))
  t.equal(one.headers['www-authenticate'], 'Bearer realm="gatehouse", error="invalid_token", error_description="The access token is signed by an unknown key"')

  const before = jwks.requests
  const burst = await Promise.all(Array.from({ length: 50 }, (_v, i) =>
    app.inject({ url: '/orders', headers: bearer(signAccessToken({ ...attacker, kid: `random-${i}` })) })))
  t.strictSame(new Set(burst.map(res => res.statusCode)), new Set([401]))
  t.ok(jwks.requests - before <= 2, `burst made ${jwks.requests - before} JWKS fetches`)
  t.equal((await app.inject({ url: '/orders', headers: bearer(signAccessToken(key)) })).statusCode, 200, 'the fetched key still verifies')
})

test('a burst of unknown kids on a cold verifier makes one JWKS fetch', async (t) => {
  const key = newKey()
  const jwks = await startJwks(t, [key.jwk])
  const app = await resourceApp(t, { jwksUrl: jwks.url })
  const burst = await Promise.all(Array.from({ length: 50 }, (_v, i) =>
    app.inject({ url: '/orders', headers: bearer(signAccessToken({ ...key, kid: `random-${i}` })) })))
  t.strictSame(new Set(burst.map(res => res.statusCode)), new Set([401]))
  t.equal(jwks.requests, 1)
})

test('concurrent requests with a newly published kid all succeed', async (t) => {
  const key = newKey()
  const jwks = await startJwks(t, [key.jwk])
  const app = await resourceApp(t, { jwksUrl: jwks.url })
  const replies = await Promise.all(Array.from({ length: 20 }, () => app.inject({ url: '/orders', headers: bearer(signAccessToken(key)) })))
  t.strictSame(replies.map(res => res.statusCode), Array(20).fill(200))
  t.equal(jwks.requests, 1, 'one fetch serves them all')
})

test('the JWKS is fetched at start, so keys (the next one included) verify without a fetch and keep verifying while it is down', async (t) => {
  const key = newKey()
  const next = newKey()
  const jwks = await startJwks(t, [key.jwk, next.jwk])
  const log = logCollector()
  const app = await resourceApp(t, { jwksUrl: jwks.url }, { logStream: log.stream })
  t.equal(jwks.requests, 1, 'fetched once at start')
  await jwks.close()
  t.equal((await app.inject({ url: '/orders', headers: bearer(signAccessToken(key)) })).statusCode, 200, 'the active key verifies')
  t.equal((await app.inject({ url: '/orders', headers: bearer(signAccessToken(next)) })).statusCode, 200, 'so does the next key, never seen in a token before')
  const unknown = await app.inject({ url: '/orders', headers: bearer(signAccessToken({ ...key, kid: 'new-kid' })) })
  t.equal(unknown.statusCode, 401, 'an unknown kid right after a good fetch is unknown, without another fetch')
  t.equal(jwks.requests, 1)
  t.notOk(JSON.stringify(log.lines).includes('"level":50'), 'nothing is logged as an error')
})

test('option errors are thrown at register', async (t) => {
  const jwks = await startJwks(t)
  const secret = 'x'.repeat(32)
  const cases: Array<[GatehouseOptions, RegExp]> = [
    [{}, /exactly one of jwksUrl, secret or publicKey/],
    [{ jwksUrl: jwks.url, secret }, /exactly one of/],
    [{ secret, publicKey: newKey().publicKey }, /exactly one of/],
    [{ jwksUrl: jwks.url, algorithms: ['ES256', 'HS256'] }, /algorithms must be chosen from ES256, EdDSA/],
    [{ jwksUrl: jwks.url, algorithms: ['HS256'] }, /algorithms must be chosen from/],
    [{ jwksUrl: jwks.url, algorithms: [] }, /algorithms must be chosen from/],
    [{ secret, algorithms: ['ES256'] }, /algorithms must be chosen from HS256/],
    [{ secret, revocationPollInterval: 1000 }, /revocationPollInterval needs revocationUrl/],
    [{ jwksUrl: jwks.url, revocationPollInterval: 99 }, /revocationPollInterval must be a number of milliseconds from 100 to 2147483647/],
    [{ jwksUrl: jwks.url, revocationPollInterval: Number.NaN }, /revocationPollInterval must be/],
    // Node would run a longer timer after 1 ms.
    [{ jwksUrl: jwks.url, revocationPollInterval: 2 ** 31 }, /revocationPollInterval must be/],
    [{ jwksUrl: jwks.url, clockTolerance: -1 }, /clockTolerance must be a number of milliseconds/],
    [{ jwksUrl: jwks.url, clockTolerance: Number.POSITIVE_INFINITY }, /clockTolerance/],
    [{ jwksUrl: jwks.url, jwksRefetchInterval: -1 }, /jwksRefetchInterval must be a number of milliseconds from 0 to 2147483647/],
    [{ jwksUrl: jwks.url, jwksRefetchInterval: Number.NaN }, /jwksRefetchInterval must be/],
    [{ jwksUrl: jwks.url, jwksRefreshInterval: 99 }, /jwksRefreshInterval must be a number of milliseconds from 100 to 2147483647/],
    [{ jwksUrl: jwks.url, jwksRefreshInterval: 6e10 }, /jwksRefreshInterval must be/],
    [{ secret, jwksRefetchInterval: 1000 }, /jwksRefetchInterval needs jwksUrl/],
    [{ publicKey: newKey().publicKey, jwksRefreshInterval: 60_000 }, /jwksRefreshInterval needs jwksUrl/],
    // The JWKS stands in for the feed here, so that a poll before the error would be counted.
    [{ jwksUrl: jwks.url, revocationUrl: jwks.url, revocationPollInterval: 1000, algorithms: ['HS256'] }, /algorithms must be chosen from/]
  ]
  for (const [options, message] of cases) {
    const app = Fastify()
    t.teardown(() => app.close())
    await t.rejects(async () => { await app.register(gatehouse, options).ready() }, message, JSON.stringify(options))
  }
  t.equal(jwks.requests, 0, 'no option error costs a network call')
})

test('a narrowed algorithms list refuses tokens of the other algorithm', async (t) => {
  const es = newKey('ES256')
  const ed = newKey('EdDSA')
  const jwks = await startJwks(t, [es.jwk, ed.jwk])
  const app = await resourceApp(t, { jwksUrl: jwks.url, algorithms: ['EdDSA'] })
  t.equal((await app.inject({ url: '/orders', headers: bearer(signAccessToken(ed)) })).statusCode, 200)
  t.equal((await app.inject({ url: '/orders', headers: bearer(signAccessToken(es)) })).statusCode, 401)
  const edWithEsKid = forge({ alg: 'EdDSA', typ: 'at+jwt', kid: es.kid }, accessClaims(), eddsa(ed.privateKey))
  t.equal((await app.inject({ url: '/orders', headers: bearer(edWithEsKid) })).statusCode, 401, 'a kid is looked up for the algorithm the token names')
})

test('authorize refuses a token without the role with 403 and lets one with it through', async (t) => {
  const key = newKey()
  const jwks = await startJwks(t, [key.jwk])
  const app = await resourceApp(t, { jwksUrl: jwks.url })
  const user = await app.inject({ url: '/admin', headers: bearer(signAccessToken(key, { roles: ['user'] })) })
  t.equal(user.statusCode, 403)
  t.strictSame(user.json(), { statusCode: 403, error: 'Forbidden', code: 'forbidden', message: 'The access token does not grant the required role' })
  t.equal(user.headers['www-authenticate'], 'Bearer realm="gatehouse", error="insufficient_scope"')
  const admin = await app.inject({ url: '/admin', headers: bearer(signAccessToken(key, { roles: ['user', 'admin'] })) })
  t.equal(admin.statusCode, 200)
  t.strictSame(admin.json(), { ok: true })
  const none = await app.inject({ url: '/admin' })
  t.equal(none.statusCode, 401, 'no token is still 401 before any role check')
})

test('authorize alone, without authenticate before it, checks the token too', async (t) => {
  const key = newKey()
  const jwks = await startJwks(t, [key.jwk])
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(gatehouse, { jwksUrl: jwks.url })
  app.get('/reports', { onRequest: app.authorize('auditor') }, async (request) => ({ sub: request.user.sub }))
  t.equal((await app.inject({ url: '/reports', headers: bearer(signAccessToken(key, { roles: ['auditor'] })) })).statusCode, 200)
  t.equal((await app.inject({ url: '/reports', headers: bearer(signAccessToken(key, { roles: ['auditor'], iss: 'x' })) })).statusCode, 401)
  t.equal((await app.inject({ url: '/reports', headers: bearer(signAccessToken(key)) })).statusCode, 403)
})

test('against a real Gatehouse: its tokens verify, and a global logout reaches the resource server within the poll interval', async (t) => {
  const server = await build(t)
  const address = await server.listen({ host: '127.0.0.1', port: 0 })
  const app = await resourceApp(t, { jwksUrl: `${address}/.well-known/jwks.json`, revocationPollInterval: 100 })

  await server.inject({ method: 'POST', url: '/auth/signup', payload: { email: 'ada@example.com', password: 'correct horse battery' } })
  const login = async () => (await server.inject({ method: 'POST', url: '/auth/login', payload: { email: 'ada@example.com', password: 'correct horse battery' } })).json<{ access_token: string }>().access_token
  const first = await login()
  const second = await login()
  t.equal((await app.inject({ url: '/orders', headers: bearer(first) })).statusCode, 200)
  t.equal((await app.inject({ url: '/orders', headers: bearer(second) })).statusCode, 200)
  t.equal((await server.inject({ method: 'POST', url: '/auth/logout?scope=global', headers: bearer(first) })).statusCode, 204)

  const deadline = Date.now() + 2_000
  let res = await app.inject({ url: '/orders', headers: bearer(second) })
  while (res.statusCode === 200 && Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 50))
    res = await app.inject({ url: '/orders', headers: bearer(second) })
  }
  t.equal(res.statusCode, 401, 'the other session\'s token is refused after a poll')
  t.strictSame(res.json(), invalidToken('The access token has been revoked'))
  t.equal((await app.inject({ url: '/orders', headers: bearer(first) })).statusCode, 401, 'so is the caller\'s')
  t.equal((await app.inject({ url: '/verify', headers: bearer(second) })).statusCode, 401, 'request.jwtVerify() refuses it too')
  const third = await login()
  t.equal((await app.inject({ url: '/orders', headers: bearer(third) })).statusCode, 200, 'a new session is not affected')
})

test('request.jwtVerify() refuses a revoked session\'s token with the reply authenticate gives', async (t) => {
  const key = newKey()
  const jwks = await startJwks(t, [key.jwk])
  const feed = Fastify()
  t.teardown(() => feed.close())
  feed.get('/revoked', async () => ({ sessions: [{ sid: 'session-9', exp: nowSeconds() + 900 }], cursor: '1' }))
  const feedUrl = `${await feed.listen({ host: '127.0.0.1', port: 0 })}/revoked`
  // Polled at register, so the revocation is known from the first request on.
  const app = await resourceApp(t, { jwksUrl: jwks.url, revocationUrl: feedUrl, revocationPollInterval: 60_000 })
  const token = signAccessToken(key, { sid: 'session-9' })

  const verified = await app.inject({ url: '/verify', headers: bearer(token) })
  const guarded = await app.inject({ url: '/orders', headers: bearer(token) })
  t.equal(verified.statusCode, 401)
  t.strictSame(verified.json(), invalidToken('The access token has been revoked'))
  t.equal(verified.headers['www-authenticate'], 'Bearer realm="gatehouse", error="invalid_token", error_description="The access token has been revoked"')
  t.equal(guarded.statusCode, verified.statusCode, 'authenticate\'s status')
  t.strictSame(guarded.json(), verified.json(), 'authenticate\'s body')
  t.equal(guarded.headers['www-authenticate'], verified.headers['www-authenticate'], 'authenticate\'s challenge')
  t.equal((await app.inject({ url: '/verify', headers: bearer(signAccessToken(key, { sid: 'session-10' })) })).statusCode, 200, 'another session is not affected')
})

test('revocations the feed already lists are known before the first request', async (t) => {
  const server = await build(t)
  const address = await server.listen({ host: '127.0.0.1', port: 0 })
  await server.inject({ method: 'POST', url: '/auth/signup', payload: { email: 'ada@example.com', password: 'correct horse battery' } })
  const token = (await server.inject({ method: 'POST', url: '/auth/login', payload: { email: 'ada@example.com', password: 'correct horse battery' } })).json<{ access_token: string }>().access_token
  await server.inject({ method: 'POST', url: '/auth/logout', headers: bearer(token) })

  const app = await resourceApp(t, { jwksUrl: `${address}/.well-known/jwks.json`, revocationPollInterval: 60_000, revocationUrl: `${address}/.well-known/revoked-sessions` })
  const res = await app.inject({ url: '/orders', headers: bearer(token) })
  t.equal(res.statusCode, 401)
  t.equal(res.json<{ message: string }>().message, 'The access token has been revoked')
})

test('a revocation feed outage is logged once, its recovery once, and tokens keep being checked meanwhile', async (t) => {
  const key = newKey()
  const jwks = await startJwks(t, [key.jwk])
  let feedDown = false
  const feed = Fastify()
  t.teardown(() => feed.close())
  let polls = 0
  feed.get('/revoked', async (_request, reply) => {
    polls++
    return feedDown
      ? reply.code(503).send({ code: 'not_ready' })
      : { sessions: [{ sid: 'revoked-session', exp: nowSeconds() + 900 }], cursor: '1' }
  })
  const feedUrl = `${await feed.listen({ host: '127.0.0.1', port: 0 })}/revoked`
  const log = logCollector()
  const app = await resourceApp(t, { jwksUrl: jwks.url, revocationUrl: feedUrl, revocationPollInterval: 100 }, { logStream: log.stream })
  const revoked = signAccessToken(key, { sid: 'revoked-session' })
  t.equal((await app.inject({ url: '/orders', headers: bearer(revoked) })).statusCode, 401)

  const feedMessages = () => log.lines.map(line => line.msg).filter(msg => msg.startsWith('gatehouse: revocation feed'))
  feedDown = true
  await eventually(() => feedMessages().length === 1, 'the outage is logged')
  const failedAt = polls
  await eventually(() => polls >= failedAt + 2, 'two more polls have failed')
  t.equal((await app.inject({ url: '/orders', headers: bearer(revoked) })).statusCode, 401, 'the known revocation holds while the feed is down')
  t.equal((await app.inject({ url: '/orders', headers: bearer(signAccessToken(key)) })).statusCode, 200)
  feedDown = false
  await eventually(() => feedMessages().length === 2, 'the recovery is logged')
  const messages = feedMessages()
  t.strictSame(messages, ['gatehouse: revocation feed unreachable; keeping the last known revocations', 'gatehouse: revocation feed reachable again'])
})

test('the JWKS coming back is logged once, at the first lookup past jwksRefetchInterval', async (t) => {
  const key = newKey()
  const jwks = await startJwks(t, [key.jwk])
  jwks.failWith = 500
  const log = logCollector()
  const app = await resourceApp(t, { jwksUrl: jwks.url, jwksRefetchInterval: 0 }, { logStream: log.stream })
  t.equal((await app.inject({ url: '/orders', headers: bearer(signAccessToken(key)) })).statusCode, 503)
  t.equal((await app.inject({ url: '/orders', headers: bearer(signAccessToken(key)) })).statusCode, 503, 'still down')
  jwks.failWith = undefined
  // With the default 5 s the set would not be fetched again yet.
  t.equal((await app.inject({ url: '/orders', headers: bearer(signAccessToken(key)) })).statusCode, 200)
  t.equal((await app.inject({ url: '/orders', headers: bearer(signAccessToken(key)) })).statusCode, 200)
  const messages = log.lines.map(line => line.msg).filter(msg => msg.startsWith('gatehouse: JWKS'))
  t.strictSame(messages, ['gatehouse: JWKS unreachable; verifying with the keys already fetched', 'gatehouse: JWKS reachable again'])
})

test('a key withdrawn from the JWKS stops verifying after jwksRefreshInterval', async (t) => {
  const key = newKey()
  const jwks = await startJwks(t, [key.jwk])
  // A background read is a fetch too: jwksRefetchInterval spaces it from the one at register.
  const app = await resourceApp(t, { jwksUrl: jwks.url, jwksRefreshInterval: 100, jwksRefetchInterval: 0 })
  const token = signAccessToken(key)
  t.equal((await app.inject({ url: '/orders', headers: bearer(token) })).statusCode, 200)
  jwks.keys = []
  await eventually(async () => (await app.inject({ url: '/orders', headers: bearer(token) })).statusCode === 401, 'refused once the set is read again')
})
