import { createHash, createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, type JsonWebKey } from 'node:crypto'
import { sql } from 'kysely'
import { systemClock, type Clock } from './clock.js'
/** The algorithms Gatehouse signs with (API.md `JWT_ALG`). */
export type JwtAlgorithm = 'ES256' | 'EdDSA' | 'HS256'
import type { Db } from '../store/index.js'

export interface PublicJwk {
  kty: string
  crv?: string
  x?: string
  y?: string
  kid: string
  alg: string
  use: 'sig'
}

/**
 * The key ring: what signs now, what verifies, and what is published. The
 * store is the source of truth; the ring holds the last copy read from it.
 */
export interface SigningKeys {
  readonly algorithm: JwtAlgorithm
  /** The key that signs new tokens: the active key as a PEM private key, or the HMAC secret. */
  readonly signing: { kid: string, key: string }
  /** The key that verifies tokens with this `kid`, or undefined when none is published. */
  verificationKey (kid: string): string | undefined
  /** Public keys to publish (active, next, then retired ones not yet dropped); empty for HS256, whose secret is never published. */
  readonly jwks: { keys: PublicJwk[] }
  /** Re-reads the keys from the store, deleting retired keys whose tokens have all expired. Rejects (keeping the keys in use) when the store has no active key. */
  reload (): Promise<void>
  /** Like `verificationKey`, but an unknown `kid` first re-reads the store, at most once per `UNKNOWN_KID_RELOAD_GAP_MS`. */
  lookup (kid: string): Promise<string | undefined>
  /** How many times the store has been read, the first load included. */
  readonly reloads: number
}

export interface SigningKeyOptions {
  algorithm: JwtAlgorithm
  /** The HMAC secret; HS256 only. */
  secret?: string
  /** Seconds an access token lives: how long a retired key must keep verifying. */
  accessTokenTtl: number
  /** When retired keys expire and how often unknown kids re-read the store are measured by it; default the system clock. */
  clock?: Clock
}

/** The kids a rotation moved: the keys that stopped signing, the one that signs now, and the one published to sign next. */
export interface RotatedKeys {
  retired: string[]
  active: string
  next: string
}

/** How often a running server re-reads its keys from the store. */
export const KEY_RELOAD_INTERVAL_MS = 5000
/**
 * How long a retired key outlives its last token's expiry: instances may
 * sign with it until their next reload, and verifiers allow clock skew.
 */
export const RETIRED_KEY_MARGIN_MS = 60_000
/** The fewest milliseconds between two store reads caused by tokens naming an unknown kid. */
export const UNKNOWN_KID_RELOAD_GAP_MS = 1000

type KeyAlgorithm = Exclude<JwtAlgorithm, 'HS256'>
type CurrentState = 'active' | 'next'

const base64url = (data: Buffer) => data.toString('base64url')

/** RFC 7638 thumbprint: the SHA-256 of the key's required members in lexicographic order. */
export function jwkThumbprint (jwk: JsonWebKey): string {
  const members = jwk.kty === 'EC'
    ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
    : { crv: jwk.crv, kty: jwk.kty, x: jwk.x }
  return base64url(createHash('sha256').update(JSON.stringify(members)).digest())
}

function generateKeyRow (algorithm: KeyAlgorithm, state: CurrentState, now: number) {
  const { privateKey, publicKey } = algorithm === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : generateKeyPairSync('ed25519')
  const publicJwk = publicKey.export({ format: 'jwk' })
  return {
    kid: jwkThumbprint(publicJwk),
    alg: algorithm,
    state,
    private_jwk: JSON.stringify(privateKey.export({ format: 'jwk' })),
    public_jwk: JSON.stringify(publicJwk),
    created_at: now
  }
}

/**
 * Adds an `active` and a `next` key where the store lacks one. Each insert is
 * one statement that checks and writes at once, so instances starting
 * together on one store cannot both add a key.
 */
async function ensureCurrentKeys (db: Db, algorithm: KeyAlgorithm, now: number): Promise<void> {
  const present = await db.selectFrom('signing_keys').select('state').where('alg', '=', algorithm).execute()
  for (const state of ['active', 'next'] as const) {
    if (present.some(row => row.state === state)) continue
    const row = generateKeyRow(algorithm, state, now)
    await db.insertInto('signing_keys')
      .columns(['kid', 'alg', 'state', 'private_jwk', 'public_jwk', 'created_at'])
      .expression(db.selectNoFrom(eb => [
        eb.val(row.kid).as('kid'),
        eb.val(row.alg).as('alg'),
        eb.val(row.state).as('state'),
        eb.val(row.private_jwk).as('private_jwk'),
        eb.val(row.public_jwk).as('public_jwk'),
        eb.val(row.created_at).as('created_at')
      ]).where(eb => eb.not(eb.exists(
        eb.selectFrom('signing_keys').select('kid').where('alg', '=', algorithm).where('state', '=', state)
      ))))
      .execute()
  }
}

/**
 * The youngest a `next` key may be when a rotation promotes it (ms). Servers
 * re-read their keys every `KEY_RELOAD_INTERVAL_MS` before they publish a new
 * `next` key, and verifiers may serve the JWKS from their cache for its
 * `max-age` (60 s, routes/well-known/jwks.ts) after that: only then has every
 * verifier had the key before anything is signed with it.
 */
export const NEXT_KEY_MIN_AGE_MS = KEY_RELOAD_INTERVAL_MS + 60_000

export interface KeyRotationOptions {
  algorithm: JwtAlgorithm
  /** When the active key retires (ms since the epoch); default now. */
  now?: number
  /** How long the `next` key must have been in the store before it may sign (ms); default `NEXT_KEY_MIN_AGE_MS`. */
  minNextKeyAge?: number
  /** What "now" is: the next key's age and the fresh key's creation are measured by it; default the system clock. */
  clock?: Clock
}

/** What a rotation of `algorithm` keys found in the store instead of an active key, as an Error saying so. */
async function noActiveKey (db: Db, algorithm: KeyAlgorithm): Promise<Error> {
  const held = await db.selectFrom('signing_keys').select('alg').distinct()
    .where('state', '=', 'active').orderBy('alg').execute()
  const holds = held.length === 0
    ? 'it holds no active signing key (a server starting on it with this algorithm creates its keys)'
    : `it holds active keys of ${held.map(row => row.alg).join(', ')} only; rotate with the algorithm the servers sign with (JWT_ALG)`
  return new Error(`cannot rotate ${algorithm} signing keys: the store has no active ${algorithm} key; ${holds}`)
}

/**
 * Rotates the signing keys of `algorithm` in one transaction: the active key
 * is retired (at `now`), the `next` key, already published, becomes active,
 * and a fresh `next` key is added. Instances pick it up at their next reload.
 * It creates no other keys: it rejects, changing nothing, when the store has
 * no active or no `next` key of `algorithm`, or when the `next` key is
 * younger than `minNextKeyAge`, so verifiers may not have it yet.
 */
export async function rotateSigningKeys (db: Db, options: KeyRotationOptions): Promise<RotatedKeys> {
  const { algorithm, clock = systemClock, minNextKeyAge = NEXT_KEY_MIN_AGE_MS } = options
  const current = clock.now()
  const now = options.now ?? current
  if (algorithm === 'HS256') {
    throw new Error('HS256 has no signing keys to rotate: its secret comes from JWT_SECRET, and changing that invalidates every token at once')
  }
  if (!Number.isFinite(minNextKeyAge) || minNextKeyAge < 0) {
    throw new RangeError(`minNextKeyAge must be a number of milliseconds >= 0, got ${minNextKeyAge}`)
  }
  const fresh = generateKeyRow(algorithm, 'next', current)
  const rotated = await db.transaction().execute(async trx => {
    // A write first: SQLite takes its write lock before anything is read, so rotations from two processes run one after the other.
    const retired = await trx.updateTable('signing_keys')
      .set({ state: 'retired', retired_at: now })
      .where('alg', '=', algorithm).where('state', '=', 'active')
      .returning('kid')
      .execute()
    // Nothing was retired, so nothing to undo: the error is built after the transaction.
    if (retired.length === 0) return undefined
    // From here a throw rolls the retirement back, leaving the store as it was.
    const next = await trx.selectFrom('signing_keys').select(['kid', 'created_at'])
      .where('alg', '=', algorithm).where('state', '=', 'next')
      .orderBy('created_at').orderBy('kid')
      .executeTakeFirst()
    if (next === undefined) {
      throw new Error(`cannot rotate ${algorithm} signing keys: the store has no next ${algorithm} key to promote; start a server on it, which publishes one, and rotate once it has been published for ${minNextKeyAge} ms`)
    }
    const age = current - next.created_at
    if (age < minNextKeyAge) {
      const when = new Date(next.created_at + minNextKeyAge).toISOString()
      throw new Error(`cannot rotate ${algorithm} signing keys yet: the next key was published ${age} ms ago, and verifiers may not have it before it has been published for ${minNextKeyAge} ms; rotate again at or after ${when}`)
    }
    await trx.updateTable('signing_keys').set({ state: 'active' }).where('kid', '=', next.kid).execute()
    await trx.insertInto('signing_keys').values({ ...fresh, retired_at: null }).execute()
    return { retired: retired.map(row => row.kid), active: next.kid, next: fresh.kid }
  })
  if (rotated === undefined) throw await noActiveKey(db, algorithm)
  return rotated
}

function hmacKeys (secret: string): SigningKeys {
  // A kid that names the secret without revealing anything about it.
  const kid = base64url(createHmac('sha256', secret).update('gatehouse kid').digest()).slice(0, 16)
  const verificationKey = (candidate: string) => candidate === kid ? secret : undefined
  return {
    algorithm: 'HS256',
    signing: { kid, key: secret },
    verificationKey,
    jwks: { keys: [] },
    // The secret comes from the config: there is nothing in the store to re-read.
    reload: async () => {},
    lookup: async (candidate) => verificationKey(candidate),
    reloads: 0
  }
}

interface PublishedKey { jwk: PublicJwk, pem: string }

interface KeySnapshot {
  signing: { kid: string, key: string }
  published: Map<string, PublishedKey>
  jwks: { keys: PublicJwk[] }
}

function publishedKey (algorithm: KeyAlgorithm, kid: string, publicJwk: string): PublishedKey {
  const jwk = JSON.parse(publicJwk) as JsonWebKey
  return {
    jwk: { kty: String(jwk.kty), crv: jwk.crv, x: jwk.x, ...(jwk.y ? { y: jwk.y } : {}), kid, alg: algorithm, use: 'sig' },
    pem: createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString()
  }
}

/**
 * Reads the published keys of `algorithm` and deletes the retired ones whose
 * tokens have all expired. Keys already parsed in `previous` are reused.
 */
async function readKeys (db: Db, algorithm: KeyAlgorithm, keepRetired: number, now: number, previous?: KeySnapshot): Promise<KeySnapshot> {
  const cutoff = now - keepRetired
  const rows = await db.selectFrom('signing_keys')
    .select(['kid', 'state', 'public_jwk', 'retired_at'])
    .where('alg', '=', algorithm)
    // Published order: active (the oldest one signs), next, then retired.
    .orderBy(sql`case state when 'active' then 0 when 'next' then 1 else 2 end`)
    .orderBy('created_at').orderBy('kid')
    .execute()
  // A retired row without a time (never written by rotateSigningKeys) counts as long retired.
  const isDropped = (row: typeof rows[number]) => row.state === 'retired' && Number(row.retired_at) <= cutoff
  const live = rows.filter(row => !isDropped(row))
  const active = live[0]
  if (active?.state !== 'active') throw new Error(`the store holds no active ${algorithm} signing key`)

  const published = new Map<string, PublishedKey>()
  for (const row of live) {
    published.set(row.kid, previous?.published.get(row.kid) ?? publishedKey(algorithm, row.kid, row.public_jwk))
  }
  const signing = previous?.signing.kid === active.kid ? previous.signing : await signingKey(db, active.kid)

  const dropped = rows.filter(isDropped).map(row => row.kid)
  if (dropped.length > 0) {
    // Nothing verifies against these any more, so their private key material goes too.
    await db.deleteFrom('signing_keys').where('kid', 'in', dropped).where('state', '=', 'retired').execute()
  }
  return { signing, published, jwks: { keys: [...published.values()].map(key => key.jwk) } }
}

async function signingKey (db: Db, kid: string): Promise<{ kid: string, key: string }> {
  const row = await db.selectFrom('signing_keys').select('private_jwk').where('kid', '=', kid).executeTakeFirstOrThrow()
  const key = createPrivateKey({ key: JSON.parse(row.private_jwk) as JsonWebKey, format: 'jwk' })
    .export({ type: 'pkcs8', format: 'pem' }).toString()
  return { kid, key }
}

class KeyRing implements SigningKeys {
  readonly algorithm: KeyAlgorithm
  reloads = 1
  readonly #db: Db
  /** How long after its retirement a key is still published, in milliseconds. */
  readonly #keepRetired: number
  readonly #clock: Clock
  #snapshot: KeySnapshot
  #unknownKidReloadAt = -Infinity

  constructor (db: Db, algorithm: KeyAlgorithm, keepRetired: number, clock: Clock, snapshot: KeySnapshot) {
    this.#db = db
    this.algorithm = algorithm
    this.#keepRetired = keepRetired
    this.#clock = clock
    this.#snapshot = snapshot
  }

  get signing () { return this.#snapshot.signing }
  get jwks () { return this.#snapshot.jwks }

  verificationKey (kid: string): string | undefined {
    return this.#snapshot.published.get(kid)?.pem
  }

  async lookup (kid: string): Promise<string | undefined> {
    const known = this.verificationKey(kid)
    if (known !== undefined) return known
    // Rate-limited, so tokens naming made-up kids cannot each cost a store read.
    const now = this.#clock.now()
    if (now - this.#unknownKidReloadAt < UNKNOWN_KID_RELOAD_GAP_MS) return undefined
    this.#unknownKidReloadAt = now
    await this.reload()
    return this.verificationKey(kid)
  }

  async reload (): Promise<void> {
    this.reloads++
    this.#snapshot = await readKeys(this.#db, this.algorithm, this.#keepRetired, this.#clock.now(), this.#snapshot)
  }
}

/**
 * Loads the key ring of the configured algorithm. For ES256 and EdDSA it
 * first makes sure the store holds an active key and a `next` one, so every
 * instance sharing the store signs with the same key and publishes the next
 * one before it signs. Keep it current with `reload()`.
 */
export async function loadSigningKeys (db: Db, options: SigningKeyOptions): Promise<SigningKeys> {
  const { algorithm, clock = systemClock } = options
  if (algorithm === 'HS256') {
    if (!options.secret) throw new Error('HS256 needs a secret')
    return hmacKeys(options.secret)
  }
  await ensureCurrentKeys(db, algorithm, clock.now())
  const keepRetired = options.accessTokenTtl * 1000 + RETIRED_KEY_MARGIN_MS
  return new KeyRing(db, algorithm, keepRetired, clock, await readKeys(db, algorithm, keepRetired, clock.now()))
}
