import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { recordAuditEvent, type AuditEvent } from '../src/domain/audit.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Stores an audit event and logs it as one structured line. */
    audit (request: FastifyRequest, event: Omit<AuditEvent, 'ip' | 'userAgent'>): Promise<void>
  }
}

export default fp(async function auditPlugin (app) {
  const { store } = app
  app.decorate('audit', async function audit (request: FastifyRequest, event: Omit<AuditEvent, 'ip' | 'userAgent'>) {
    const full: AuditEvent = { ...event, ip: request.ip, userAgent: request.headers['user-agent'] ?? null }
    request.log.info({ audit: full }, `audit: ${event.type}`)
    await recordAuditEvent(store.db, full)
  })
}, { name: 'audit', dependencies: ['store'] })
