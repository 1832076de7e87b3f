import { InvalidGrant } from '../domain/errors.js'
import { rotateRefreshToken } from '../domain/sessions.js'
import { auditedTransaction } from './audited-transaction.js'
import type { Caller, ServiceContext, TokenPair } from './context.js'
import { tokenPair } from './token-pair.js'

// Longer than any refresh token we issue (43 characters): refused without a store read.
const MAX_TOKEN_LENGTH = 128

/**
 * Spends a refresh token for a new pair in the same session (API.md "Token
 * lifecycle"): a replay of the immediate parent within the reuse interval
 * gets the same child, any other second presentation revokes the session.
 * The answer goes out as soon as the transaction commits.
 */
export async function refresh (ctx: ServiceContext, caller: Caller, presented: string): Promise<TokenPair> {
  if (presented.length === 0 || presented.length > MAX_TOKEN_LENGTH) throw new InvalidGrant('unknown')
  const now = ctx.clock.now()
  const result = await auditedTransaction(ctx, caller, now, async (trx, audit) => {
    const rotation = await rotateRefreshToken(trx, ctx.sessionRules, ctx.refreshKey, presented, now)
    if (rotation.kind === 'reuse') {
      await audit({ type: 'refresh_reuse', userId: rotation.userId, sessionId: rotation.sessionId, detail: rotation.lostRace ? 'lost a concurrent rotation; session revoked' : 'spent refresh token presented again; session revoked' })
      return rotation
    }
    if (rotation.kind === 'refused') return rotation
    const detail = rotation.kind === 'rotated' ? null : `parent replayed within the reuse interval${rotation.lostRace ? ' (lost a concurrent rotation)' : ''}`
    await audit({ type: 'refresh', userId: rotation.session.user.id, sessionId: rotation.session.sessionId, detail })
    return rotation
  })

  if (result.kind === 'reuse') {
    ctx.revocations.revokedNow([result.sessionId], now)
    caller.log.warn({ sessionId: result.sessionId, lostRace: result.lostRace }, 'refresh token reuse: session revoked')
    throw new InvalidGrant('reuse')
  }
  if (result.kind === 'refused') {
    if (result.reason !== 'unknown') caller.log.info({ sessionId: result.sessionId, reason: result.reason }, 'refresh refused')
    throw new InvalidGrant(result.reason)
  }
  if (result.lostRace) caller.log.info({ sessionId: result.session.sessionId }, 'refresh lost a concurrent rotation and was answered as a replay')
  const { session } = result
  const { user } = session
  return tokenPair(ctx, { userId: user.id, sessionId: session.sessionId, roles: user.roles, sessionEndsAt: session.endsAt }, session.refreshToken, user, now)
}
