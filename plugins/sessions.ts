import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { recordAuditEvent, type AuditEvent } from '../src/domain/audit.js'
import { RevocationList } from '../src/domain/revocations.js'
import { loadRefreshKey, pruneExpired, type SessionRules } from '../src/domain/sessions.js'

declare module 'fastify' {
  interface FastifyInstance {
    sessionRules: SessionRules
    /** Server-held key that derives a refresh token's child from it. */
    refreshKey: Buffer
    revocations: RevocationList
    /** Stores an audit event and logs it as one structured line. */
    audit (request: FastifyRequest, event: Omit<AuditEvent, 'ip' | 'userAgent'>): Promise<void>
  }
}

// How often revocations made by other instances sharing the store are picked up.
const REVOCATION_SYNC_MS = 1000
// How often dead sessions and old revocations are deleted, so the store does not grow without end.
const PRUNE_MS = 3600_000

export default fp(async function sessionsPlugin (app) {
  const { config, store } = app
  app.decorate('sessionRules', {
    refreshTokenTtl: config.refreshTokenTtl,
    sessionMaxAge: config.sessionMaxAge,
    refreshReuseInterval: config.refreshReuseInterval,
    accessTokenTtl: config.accessTokenTtl
  })
  app.decorate('refreshKey', await loadRefreshKey(store.db))

  const revocations = new RevocationList(store.db, config.accessTokenTtl * 1000)
  app.decorate('revocations', revocations)
  let prunedAt = 0
  async function maintain () {
    await revocations.sync()
    if (Date.now() - prunedAt < PRUNE_MS) return
    prunedAt = Date.now()
    app.log.debug({ pruned: await pruneExpired(store.db, app.sessionRules) }, 'pruned expired sessions')
  }
  await maintain()
  const timer = setInterval(() => {
    maintain().catch(err => app.log.warn({ err }, 'revocation sync failed'))
  }, REVOCATION_SYNC_MS)
  timer.unref()
  app.addHook('onClose', async () => { clearInterval(timer) })

  app.decorate('audit', async function audit (request: FastifyRequest, event: Omit<AuditEvent, 'ip' | 'userAgent'>) {
    const full: AuditEvent = { ...event, ip: request.ip, userAgent: request.headers['user-agent'] ?? null }
    request.log.info({ audit: full }, `audit: ${event.type}`)
    await recordAuditEvent(store.db, full)
  })
}, { name: 'sessions', dependencies: ['config', 'store'] })
