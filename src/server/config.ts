import { envSchema } from 'env-schema'
import { Type, type Static } from 'typebox'

const Seconds = (defaultValue: number, minimum = 1) =>
  Type.Integer({ minimum, maximum: 10 * 365 * 24 * 3600, default: defaultValue })

// One schema for every variable of API.md's configuration table (plus the
// argon2 cost knobs); env-schema coerces the strings and applies defaults.
export const EnvSchema = Type.Object({
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  DATABASE_URL: Type.String({ pattern: '^(sqlite:.+|postgres(ql)?://.+)$', default: 'sqlite:./data/gatehouse.db' }),
  JWT_ALG: Type.Union([Type.Literal('ES256'), Type.Literal('EdDSA'), Type.Literal('HS256')], { default: 'ES256' }),
  JWT_SECRET: Type.Optional(Type.String()),
  JWT_ISSUER: Type.String({ minLength: 1, default: 'gatehouse' }),
  JWT_AUDIENCE: Type.String({ minLength: 1, default: 'gatehouse' }),
  ACCESS_TOKEN_TTL: Seconds(900),
  REFRESH_TOKEN_TTL: Seconds(2592000),
  SESSION_MAX_AGE: Seconds(7776000),
  REFRESH_REUSE_INTERVAL: Seconds(10, 0),
  LOGIN_MAX_ATTEMPTS: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10 }),
  LOGIN_WINDOW: Seconds(900),
  RATE_LIMIT_MAX: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 300 }),
  TRUST_PROXY: Type.Optional(Type.String()),
  REDIS_URL: Type.Optional(Type.String()),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info' }),
  ARGON2_MEMORY_COST: Type.Integer({ minimum: 8192, maximum: 4_194_304, default: 19456 }),
  ARGON2_TIME_COST: Type.Integer({ minimum: 1, maximum: 100, default: 2 }),
  ARGON2_PARALLELISM: Type.Integer({ minimum: 1, maximum: 16, default: 1 })
})

export type Env = Static<typeof EnvSchema>
export type JwtAlgorithm = Env['JWT_ALG']

export interface GatehouseConfig {
  host: string
  port: number
  databaseUrl: string
  jwt: {
    algorithm: JwtAlgorithm
    secret?: string
    issuer: string
    audience: string
  }
  accessTokenTtl: number
  refreshTokenTtl: number
  sessionMaxAge: number
  refreshReuseInterval: number
  loginMaxAttempts: number
  loginWindow: number
  rateLimitMax: number
  trustProxy: string[] | false
  logLevel: Env['LOG_LEVEL']
  argon2: { memoryCost: number, timeCost: number, parallelism: number }
  /** Human-readable notes about ignored settings, logged once at start. */
  warnings: string[]
}

/** A configuration problem, worded as one line that names the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

interface AjvError { instancePath: string, message: string, params: Record<string, unknown> }

// Every variable is optional or defaulted, so each error names one by its path.
function describe (error: AjvError): string {
  const name = error.instancePath.replace(/^\//, '')
  if (Array.isArray(error.params.allowedValues)) {
    return `${name} must be one of ${error.params.allowedValues.join(', ')}`
  }
  return `${name} ${error.message}`
}

/**
 * Validates and types the configuration. `source` is the environment (or the
 * embedding options, keyed the same way); empty strings count as unset.
 */
export function parseConfig (source: Record<string, string | number | undefined>): GatehouseConfig {
  const data: Record<string, string | number> = {}
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = source[key]
    if (value !== undefined && value !== '') data[key] = value
  }

  let env: Env
  try {
    env = envSchema<Env>({ schema: EnvSchema, data, env: false, dotenv: false })
  } catch (err) {
    const errors = (err as { errors: [AjvError, ...AjvError[]] }).errors
    // Union failures report every branch; the enum-like summary is the useful one.
    throw new ConfigError(describe(errors.find(e => e.params.allowedValues) ?? errors[0]))
  }

  const warnings: string[] = []
  if (env.JWT_ALG === 'HS256') {
    if (env.JWT_SECRET === undefined) throw new ConfigError('JWT_SECRET is required when JWT_ALG is HS256')
    if (Buffer.byteLength(env.JWT_SECRET, 'utf8') < 32) throw new ConfigError('JWT_SECRET must be at least 32 bytes when JWT_ALG is HS256')
  } else if (env.JWT_SECRET !== undefined) {
    warnings.push(`JWT_SECRET is ignored because JWT_ALG is ${env.JWT_ALG}`)
  }
  if (env.REDIS_URL !== undefined) {
    warnings.push('REDIS_URL is not supported by this version and is ignored: rate-limit counters stay per instance; revocations are shared through the store')
  }
  if (/^postgres/.test(env.DATABASE_URL)) {
    throw new ConfigError('DATABASE_URL: postgres is not supported by this version yet; use sqlite:<path> or sqlite::memory:')
  }

  return {
    host: env.HOST,
    port: env.PORT,
    databaseUrl: env.DATABASE_URL,
    jwt: { algorithm: env.JWT_ALG, secret: env.JWT_ALG === 'HS256' ? env.JWT_SECRET : undefined, issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE },
    accessTokenTtl: env.ACCESS_TOKEN_TTL,
    refreshTokenTtl: env.REFRESH_TOKEN_TTL,
    sessionMaxAge: env.SESSION_MAX_AGE,
    refreshReuseInterval: env.REFRESH_REUSE_INTERVAL,
    loginMaxAttempts: env.LOGIN_MAX_ATTEMPTS,
    loginWindow: env.LOGIN_WINDOW,
    rateLimitMax: env.RATE_LIMIT_MAX,
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    logLevel: env.LOG_LEVEL,
    argon2: { memoryCost: env.ARGON2_MEMORY_COST, timeCost: env.ARGON2_TIME_COST, parallelism: env.ARGON2_PARALLELISM },
    warnings
  }
}

const ipv4 = /^(\d{1,3}\.){3}\d{1,3}(\/\d{1,2})?$/
const ipv6 = /^[0-9a-f:.]+(\/\d{1,3})?$/i

function parseTrustProxy (value: string | undefined): string[] | false {
  if (value === undefined) return false
  const entries = value.split(',').map(s => s.trim()).filter(Boolean)
  for (const entry of entries) {
    // Only addresses and ranges: `true` or a hop count would trust any client's X-Forwarded-For.
    if (!ipv4.test(entry) && !(entry.includes(':') && ipv6.test(entry)) && entry !== 'loopback' && entry !== 'linklocal' && entry !== 'uniquelocal') {
      throw new ConfigError('TRUST_PROXY must be a comma-separated list of proxy addresses or CIDR ranges (got an entry that is neither)')
    }
  }
  return entries.length > 0 ? entries : false
}
