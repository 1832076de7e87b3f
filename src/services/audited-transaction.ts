import { recordAuditEvent, type AuditEvent } from '../domain/audit.js'
import type { Db } from '../store/index.js'
import type { Caller, ServiceContext } from './context.js'

export type AuditRecorder = (event: Omit<AuditEvent, 'ip' | 'userAgent'>) => Promise<void>

/**
 * Runs `work` in one write transaction in which `audit` stores events
 * beside the change they record: both commit, or neither does. The events
 * are logged once the transaction has committed.
 */
export async function auditedTransaction<T> (ctx: ServiceContext, caller: Caller, now: number, work: (trx: Db, audit: AuditRecorder) => Promise<T>): Promise<T> {
  const events: AuditEvent[] = []
  const result = await ctx.store.transaction(trx => work(trx, async (event) => {
    const full: AuditEvent = { ...event, ip: caller.ip, userAgent: caller.userAgent }
    await recordAuditEvent(trx, full, now)
    events.push(full)
  }))
  for (const event of events) caller.log.info({ audit: event }, `audit: ${event.type}`)
  return result
}

/** Records one event on its own: for refusals, which change nothing else. */
export function auditAlone (ctx: ServiceContext, caller: Caller, now: number, event: Omit<AuditEvent, 'ip' | 'userAgent'>): Promise<void> {
  return auditedTransaction(ctx, caller, now, (_trx, audit) => audit(event))
}
