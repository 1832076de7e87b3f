import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import gatehouseApp from './app.js'
import { ConfigError, EnvSchema, parseConfig, type Env } from './config.js'
import { rotateSigningKeys as rotateStoredKeys, type RotatedKeys } from '../domain/keys.js'
import { openStore } from '../store/index.js'

export type { AccessTokenClaims } from '../verify/claims.js'
export type { AuthHook } from '../verify/bearer-auth.js'
export { ConfigError } from './config.js'
export { NEXT_KEY_MIN_AGE_MS, type RotatedKeys } from '../domain/keys.js'

// Settings of the process, not of the routes: the host app owns its listener, proxies and logger.
const HOST_SETTINGS = ['HOST', 'PORT', 'TRUST_PROXY', 'LOG_LEVEL'] as const
type RouteEnv = Omit<Env, typeof HOST_SETTINGS[number]>

type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}`
  ? `${Lowercase<Head>}${Capitalize<CamelCase<Tail>>}`
  : Lowercase<S>

/**
 * The environment variables of API.md as options: `DATABASE_URL` is
 * `databaseUrl`, `ACCESS_TOKEN_TTL` is `accessTokenTtl`, and so on.
 */
export type GatehouseServerSettings = { [K in keyof RouteEnv as CamelCase<K & string>]?: RouteEnv[K] }

export interface GatehouseServerOptions extends GatehouseServerSettings {
  /**
   * Where the routes are mounted, e.g. `/auth` gives `/auth/auth/login` and
   * `/auth/.well-known/jwks.json`. Required: Gatehouse answers unknown paths
   * below it with its own 404s, which at the root would take over the host's.
   */
  prefix: string
}

/** Options of `rotateSigningKeys` beyond the store's settings. */
export interface RotationOptions {
  /** How long the `next` key must have been published before it may sign (ms); default `NEXT_KEY_MIN_AGE_MS`. */
  minNextKeyAge?: number
}

const toCamel = (name: string) => name.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase())
const OPTION_NAMES = new Map(Object.keys(EnvSchema.properties)
  .filter(name => !(HOST_SETTINGS as readonly string[]).includes(name))
  .map(name => [toCamel(name), name]))
// Options Fastify itself reads from `register` (besides ours).
const REGISTER_OPTIONS = new Set(['prefix', 'logLevel', 'logSerializers'])

/** Turns the options into the environment-shaped record `parseConfig` validates, naming options in its errors. */
export function configFromOptions (options: GatehouseServerSettings & { prefix?: string }) {
  const source: Record<string, string | number | undefined> = {}
  for (const [option, value] of Object.entries(options)) {
    const name = OPTION_NAMES.get(option)
    if (name !== undefined) source[name] = value as string | number | undefined
    else if (!REGISTER_OPTIONS.has(option)) throw new ConfigError(`gatehouse/server: unknown option ${option}`)
  }
  try {
    return parseConfig(source)
  } catch (error) {
    // parseConfig throws only ConfigErrors, one line naming the variable: here it names the option.
    let message = (error as Error).message
    for (const [option, name] of OPTION_NAMES) message = message.replaceAll(name, option)
    throw new ConfigError(`gatehouse/server: ${message}`, { cause: error })
  }
}

async function gatehouseServer (app: FastifyInstance, options: GatehouseServerOptions) {
  if (app.hasDecorator('authenticate') || app.hasDecorator('authorize')) {
    throw new ConfigError('gatehouse/server: this app already has authenticate or authorize; gatehouse/server decorates the host with both, so it cannot be mounted beside another plugin that does (a second gatehouse/server, the gatehouse verifier plugin, or your own @fastify/jwt setup)')
  }
  const prefix: unknown = options.prefix
  if (prefix === undefined || prefix === '') throw new ConfigError('gatehouse/server: prefix is required, e.g. "/auth"')
  // '/' would mount Gatehouse's 404 handler over the host's, as no prefix would.
  if (typeof prefix !== 'string' || !/^\/[^/]/.test(prefix)) {
    throw new ConfigError('gatehouse/server: prefix must be a path below the root, e.g. "/auth"')
  }
  const config = configFromOptions(options)
  let mounted: FastifyInstance | undefined
  // Encapsulated: Gatehouse's parsers, error handler and decorators stay under the prefix.
  await app.register(async function gatehouseRoutes (child) {
    await child.register(fp(gatehouseApp, { name: 'gatehouse-app' }), { config })
    mounted = child
  }, { prefix })

  // The host's own routes can be guarded by the same keys and revocations, without HTTP.
  const server = mounted as FastifyInstance
  app.decorate('authenticate', server.authenticate)
  app.decorate('authorize', server.authorize)
}

/**
 * The whole Gatehouse server, mounted inside an existing Fastify 5 app under
 * `prefix`, configured by options named after the environment variables.
 * Also decorates the host with `authenticate` and `authorize`.
 */
export default fp(gatehouseServer, { name: 'gatehouse-server', fastify: '5.x' })

/**
 * Rotates the signing keys in the store these options name: the next key
 * starts signing, the active one retires, and a new next key is published.
 * Running servers on that store pick the change up within seconds. `jwtAlg`
 * must be the algorithm the servers sign with. Rejects, changing nothing,
 * when the store has no active key of that algorithm, or when its next key
 * was published less than `minNextKeyAge` ago (verifiers may not have it yet).
 */
export async function rotateSigningKeys (options: GatehouseServerSettings, rotation: RotationOptions = {}): Promise<RotatedKeys> {
  const config = configFromOptions(options)
  const store = await openStore(config.databaseUrl)
  try {
    return await rotateStoredKeys(store.db, { algorithm: config.jwt.algorithm, minNextKeyAge: rotation.minNextKeyAge })
  } finally {
    await store.close()
  }
}
