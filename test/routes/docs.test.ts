import { test } from 'tap'
import { build } from '../helpers/build.js'

const OUR_PATHS: Record<string, string[]> = {
  '/': ['get'],
  '/health': ['get'],
  '/ready': ['get'],
  '/auth/signup': ['post'],
  '/auth/login': ['post'],
  '/auth/me': ['get'],
  '/.well-known/jwks.json': ['get']
}

test('GET /docs serves the OpenAPI UI as HTML', async (t) => {
  const app = await build(t)
  const res = await app.inject({ url: '/docs' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/html/)
  t.match(res.body, /<html/i)
})

test('GET /docs/json is an OpenAPI 3 document with our paths', async (t) => {
  const app = await build(t)
  const res = await app.inject({ url: '/docs/json' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  const doc = res.json()
  t.match(doc.openapi, /^3\.\d+\.\d+$/)
  t.equal(doc.info.title, 'Gatehouse')
  for (const [path, methods] of Object.entries(OUR_PATHS)) {
    t.ok(doc.paths[path], `documents ${path}`)
    for (const method of methods) t.ok(doc.paths[path]?.[method], `documents ${method.toUpperCase()} ${path}`)
  }
  t.notOk(Object.keys(doc.paths).some((p: string) => p.startsWith('/docs')), 'the docs routes are not documented')
})

test('the OpenAPI document describes the request and reply schemas', async (t) => {
  const app = await build(t)
  const doc = (await app.inject({ url: '/docs/json' })).json()
  const login = doc.paths['/auth/login'].post
  const body = login.requestBody.content['application/json'].schema
  t.same([...body.required].sort(), ['email', 'password'])
  t.same(Object.keys(login.responses['200'].content['application/json'].schema.properties).sort(),
    ['access_token', 'expires_at', 'expires_in', 'refresh_token', 'token_type', 'user'])
  for (const status of ['401', '429']) t.ok(login.responses[status], `login documents ${status}`)
  const signup = doc.paths['/auth/signup'].post
  t.ok(signup.responses['201'])
  t.ok(signup.responses['409'])
  const userSchema = signup.responses['201'].content['application/json'].schema.properties.user
  t.same(Object.keys(userSchema.properties).sort(), ['created_at', 'email', 'id', 'roles'])
  t.notOk(JSON.stringify(doc).includes('password_hash'))
})

test('the OpenAPI document declares bearer auth on /auth/me', async (t) => {
  const app = await build(t)
  const doc = (await app.inject({ url: '/docs/json' })).json()
  t.match(doc.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
  t.same(doc.paths['/auth/me'].get.security, [{ bearer: [] }])
})
