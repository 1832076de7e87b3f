import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { errorReplies, TokenReply } from '../../src/server/schemas.js'
import { RefreshRefused, rotateRefreshToken } from '../../src/domain/sessions.js'
import { findUserById, publicUser } from '../../src/domain/users.js'

// Longer than any token we issue (43 characters): refused without a store read.
const MAX_TOKEN_LENGTH = 128

const refresh: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/refresh', {
    schema: {
      summary: 'Spend a refresh token for a new token pair in the same session',
      tags: ['auth'],
      body: Type.Object({ refresh_token: Type.String() }),
      response: { 200: TokenReply, ...errorReplies(400, 401, 413, 415, 429) }
    }
  }, async (request) => {
    // When the whole request was in: a token spent after that was lost to a concurrent refresh, not replayed.
    // (Not when its headers came: a client could hold its body back past someone else's rotation.)
    const presentedAt = Date.now()
    const presented = request.body.refresh_token
    if (presented.length === 0 || presented.length > MAX_TOKEN_LENGTH) throw new RefreshRefused('unknown')

    let rotation
    try {
      rotation = await rotateRefreshToken(app.store.db, app.sessionRules, app.refreshKey, presented, presentedAt)
    } catch (err) {
      if (err instanceof RefreshRefused && err.reason === 'reuse' && err.sessionId !== undefined && err.userId !== undefined) {
        app.revocations.revokedNow([err.sessionId])
        await app.audit(request, { type: 'refresh_reuse_detected', userId: err.userId, sessionId: err.sessionId, reason: 'spent refresh token presented again' })
      }
      throw err
    }

    const user = await findUserById(app.store.db, rotation.userId)
    // The session may have been revoked while the rotation's reply was held.
    if (!user || app.revocations.has(rotation.sessionId)) throw new RefreshRefused('revoked')
    const access = app.accessTokens.issue({ userId: user.id, sessionId: rotation.sessionId, roles: rotation.roles, sessionEndsAt: rotation.endsAt })
    await app.audit(request, { type: 'token_refreshed', userId: user.id, sessionId: rotation.sessionId, reason: rotation.replayed ? 'parent replayed within the reuse interval' : null })

    return {
      access_token: access.token,
      token_type: 'Bearer' as const,
      expires_in: access.expiresIn,
      expires_at: access.expiresAt,
      refresh_token: rotation.refreshToken,
      user: publicUser(user)
    }
  })
}

export default refresh
