import { UnknownCursor } from '../domain/errors.js'
import { latestRevocation, parseCursor, revocationsSince, type RevocationPage } from '../domain/revocations.js'
import type { ServiceContext } from './context.js'

/** The revocation feed's next page after `cursor` (none: from the start). */
export async function revocationFeed (ctx: ServiceContext, cursor: string | undefined): Promise<RevocationPage> {
  const since = parseCursor(cursor)
  // A cursor past the newest revocation was not issued here; following it would miss revocations silently.
  if (since === null || since > await latestRevocation(ctx.store.db)) throw new UnknownCursor()
  return revocationsSince(ctx.store.db, since, ctx.clock.now())
}
