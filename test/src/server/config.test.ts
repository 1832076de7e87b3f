import { Writable } from 'node:stream'
import { test } from 'tap'
import { ConfigError, parseConfig, type GatehouseConfig } from '../../../src/server/config.js'
import { build } from '../../helpers/build.js'

const SECRET_32 = 'x'.repeat(32)

function configError (env: Record<string, string | number>): ConfigError {
  try {
    parseConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error(`parseConfig accepted ${JSON.stringify(env)}`)
}

test('the defaults are those of API.md', async (t) => {
  const expected: GatehouseConfig = {
    host: '127.0.0.1',
    port: 3000,
    databaseUrl: 'sqlite:./data/gatehouse.db',
    jwt: { algorithm: 'ES256', secret: undefined, issuer: 'gatehouse', audience: 'gatehouse' },
    accessTokenTtl: 900,
    refreshTokenTtl: 2592000,
    sessionMaxAge: 7776000,
    refreshReuseInterval: 10,
    loginMaxAttempts: 10,
    loginWindow: 900,
    rateLimitMax: 300,
    trustProxy: false,
    logLevel: 'info',
    argon2: { memoryCost: 19456, timeCost: 2, parallelism: 1 },
    warnings: []
  }
  t.same(parseConfig({}), expected)
})

test('set variables are read and typed (a session shorter than an access token and a strict reuse interval included)', async (t) => {
  const config = parseConfig({
    HOST: '0.0.0.0',
    PORT: '8080',
    DATABASE_URL: 'sqlite::memory:',
    JWT_ALG: 'EdDSA',
    JWT_ISSUER: 'https://auth.example.com',
    JWT_AUDIENCE: 'api',
    ACCESS_TOKEN_TTL: '300',
    REFRESH_TOKEN_TTL: '3600',
    SESSION_MAX_AGE: '60',
    REFRESH_REUSE_INTERVAL: '0',
    LOGIN_MAX_ATTEMPTS: '5',
    LOGIN_WINDOW: '60',
    RATE_LIMIT_MAX: '100',
    TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,::1',
    LOG_LEVEL: 'debug',
    ARGON2_MEMORY_COST: '65536',
    ARGON2_TIME_COST: '3',
    ARGON2_PARALLELISM: '2'
  })
  t.match(config, {
    host: '0.0.0.0',
    port: 8080,
    databaseUrl: 'sqlite::memory:',
    jwt: { algorithm: 'EdDSA', secret: undefined, issuer: 'https://auth.example.com', audience: 'api' },
    accessTokenTtl: 300,
    refreshTokenTtl: 3600,
    sessionMaxAge: 60,
    refreshReuseInterval: 0,
    loginMaxAttempts: 5,
    loginWindow: 60,
    rateLimitMax: 100,
    logLevel: 'debug',
    argon2: { memoryCost: 65536, timeCost: 3, parallelism: 2 },
    warnings: []
  })
  t.same(config.trustProxy, ['10.0.0.0/8', '127.0.0.1', '::1'])
})

test('numbers are accepted as well as strings, for embedding options', async (t) => {
  const config = parseConfig({ PORT: 8080, ACCESS_TOKEN_TTL: 60 })
  t.equal(config.port, 8080)
  t.equal(config.accessTokenTtl, 60)
})

test('HS256 with a secret of at least 32 bytes is accepted', async (t) => {
  const config = parseConfig({ JWT_ALG: 'HS256', JWT_SECRET: SECRET_32 })
  t.same(config.jwt, { algorithm: 'HS256', secret: SECRET_32, issuer: 'gatehouse', audience: 'gatehouse' })
  t.same(config.warnings, [])
})

test('each bad value is a ConfigError whose one-line message names the variable', async (t) => {
  const cases: Array<[Record<string, string>, string]> = [
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ PORT: '-1' }, 'PORT'],
    [{ PORT: '80.5' }, 'PORT'],
    [{ JWT_ALG: 'RS256' }, 'JWT_ALG'],
    [{ JWT_ALG: 'none' }, 'JWT_ALG'],
    [{ JWT_ALG: 'es256' }, 'JWT_ALG'],
    [{ ACCESS_TOKEN_TTL: '-1' }, 'ACCESS_TOKEN_TTL'],
    [{ ACCESS_TOKEN_TTL: '0' }, 'ACCESS_TOKEN_TTL'],
    [{ REFRESH_TOKEN_TTL: 'soon' }, 'REFRESH_TOKEN_TTL'],
    [{ REFRESH_REUSE_INTERVAL: '-1' }, 'REFRESH_REUSE_INTERVAL'],
    [{ LOGIN_MAX_ATTEMPTS: '0' }, 'LOGIN_MAX_ATTEMPTS'],
    [{ LOGIN_WINDOW: '0' }, 'LOGIN_WINDOW'],
    [{ RATE_LIMIT_MAX: '0' }, 'RATE_LIMIT_MAX'],
    [{ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL'],
    [{ ARGON2_MEMORY_COST: '1024' }, 'ARGON2_MEMORY_COST'],
    [{ DATABASE_URL: 'mysql://localhost/db' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'postgres://user:pw@localhost/gatehouse' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'postgresql://localhost/gatehouse' }, 'DATABASE_URL'],
    [{ JWT_ALG: 'HS256' }, 'JWT_SECRET'],
    [{ JWT_ALG: 'HS256', JWT_SECRET: 'x'.repeat(31) }, 'JWT_SECRET'],
    [{ TRUST_PROXY: 'true' }, 'TRUST_PROXY'],
    [{ TRUST_PROXY: '1' }, 'TRUST_PROXY'],
    [{ TRUST_PROXY: '127.0.0.1, *' }, 'TRUST_PROXY'],
    [{ REFRESH_REUSE_INTERVAL: '-1' }, 'REFRESH_REUSE_INTERVAL']
  ]
  for (const [env, name] of cases) {
    const err = configError(env)
    t.equal(err.name, 'ConfigError')
    t.match(err.message, name, `${JSON.stringify(env)}: "${err.message}"`)
    t.notMatch(err.message, /\n/, 'one line')
  }
})

test('an HS256 secret is measured in bytes, not characters', async (t) => {
  // 11 three-byte characters: 11 characters but 33 bytes.
  t.equal(parseConfig({ JWT_ALG: 'HS256', JWT_SECRET: '\u20ac'.repeat(11) }).jwt.secret, '\u20ac'.repeat(11))
  t.match(configError({ JWT_ALG: 'HS256', JWT_SECRET: 'x'.repeat(31) }).message, /32 bytes/)
})

test('a config error never repeats the secret', async (t) => {
  const secret = 'short-secret-value'
  t.notMatch(configError({ JWT_ALG: 'HS256', JWT_SECRET: secret }).message, secret)
})

test('a postgres URL is refused without echoing its password', async (t) => {
  const err = configError({ DATABASE_URL: 'postgres://user:s3cretpw@localhost/gatehouse' })
  t.notMatch(err.message, /s3cretpw/)
})

test('JWT_SECRET under ES256 or EdDSA yields a warning and no secret', async (t) => {
  for (const alg of [undefined, 'ES256', 'EdDSA']) {
    const config = parseConfig({ ...(alg ? { JWT_ALG: alg } : {}), JWT_SECRET: SECRET_32 })
    t.equal(config.jwt.secret, undefined)
    t.equal(config.warnings.length, 1)
    t.match(config.warnings[0], /JWT_SECRET/)
    t.notMatch(config.warnings[0], SECRET_32, 'the warning does not show the secret')
  }
})

test('empty strings count as unset', async (t) => {
  const config = parseConfig({ PORT: '', HOST: '', JWT_ALG: '', JWT_SECRET: '', TRUST_PROXY: '', DATABASE_URL: '', LOG_LEVEL: '' })
  t.same(config, parseConfig({}))
  t.match(configError({ JWT_ALG: 'HS256', JWT_SECRET: '' }).message, /JWT_SECRET is required/)
})

test('TRUST_PROXY takes addresses, CIDR ranges and named ranges only', async (t) => {
  t.same(parseConfig({ TRUST_PROXY: '127.0.0.1' }).trustProxy, ['127.0.0.1'])
  t.same(parseConfig({ TRUST_PROXY: '10.0.0.0/8,192.168.0.0/16' }).trustProxy, ['10.0.0.0/8', '192.168.0.0/16'])
  t.same(parseConfig({ TRUST_PROXY: 'fd00::/8, ::1' }).trustProxy, ['fd00::/8', '::1'])
  t.same(parseConfig({ TRUST_PROXY: 'loopback,linklocal,uniquelocal' }).trustProxy, ['loopback', 'linklocal', 'uniquelocal'])
  t.equal(parseConfig({ TRUST_PROXY: ' , ' }).trustProxy, false, 'a list of nothing trusts nothing')
  for (const bad of ['true', 'false', '2', 'proxy.internal', 'cafe', '*']) {
    t.match(configError({ TRUST_PROXY: bad }).message, /TRUST_PROXY/, bad)
  }
})

test('REDIS_URL is accepted with a warning that it is not used yet', async (t) => {
  const config = parseConfig({ REDIS_URL: 'redis://user:hunter2@127.0.0.1:6379' })
  t.equal(config.warnings.length, 1)
  t.match(config.warnings[0], /REDIS_URL is not supported/)
  t.notMatch(config.warnings[0], 'hunter2', 'the warning does not show the URL or its password')
})

test('variables outside the schema are ignored', async (t) => {
  t.same(parseConfig({ PATH: '/usr/bin', NODE_ENV: 'production', SOMETHING: '1' }), parseConfig({}))
})

test('config warnings are logged once when the app starts', async (t) => {
  const lines: Array<{ level: number, msg: string }> = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(JSON.parse(String(chunk))); done() } })
  await build(t, { JWT_SECRET: SECRET_32 }, { logger: { level: 'warn', stream } })
  const warnings = lines.filter(line => /JWT_SECRET/.test(line.msg))
  t.equal(warnings.length, 1)
  t.equal(warnings[0]?.level, 40)
  t.notMatch(JSON.stringify(lines), SECRET_32)
})
