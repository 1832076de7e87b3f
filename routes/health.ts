import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { NotReadyError } from '../src/server/http-errors.js'
import { errorReplies, StatusReply } from '../src/server/schemas.js'

const health: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/health', {
    schema: { summary: 'Liveness: the process runs', tags: ['operations'], response: { 200: StatusReply } }
  }, async () => ({ status: 'ok' as const }))

  app.get('/ready', {
    schema: { summary: 'Readiness: the store answers', tags: ['operations'], response: { 200: StatusReply, ...errorReplies(503) } }
  }, async () => {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new NotReadyError()), app.timings.readyTimeout)
    })
    try {
      await Promise.race([app.store.ping(), timeout])
    } catch {
      throw new NotReadyError()
    } finally {
      clearTimeout(timer)
    }
    return { status: 'ok' as const }
  })
}

export default health
