import type { ServiceContext } from './context.js'
import { currentUser } from './current-user.js'
import { login } from './login.js'
import { logout } from './logout.js'
import { changePassword } from './password-change.js'
import { refresh } from './refresh.js'
import { revocationFeed } from './revocation-feed.js'
import { listSessions, revokeOwnSession } from './sessions.js'
import { signup } from './signup.js'

export type { Caller, ServiceContext, TokenPair } from './context.js'

type Bound<F> = F extends (ctx: ServiceContext, ...args: infer A) => infer R ? (...args: A) => R : never

/** Every use case, bound to the app's context: what routes call. */
export interface Services {
  signup: Bound<typeof signup>
  login: Bound<typeof login>
  refresh: Bound<typeof refresh>
  logout: Bound<typeof logout>
  changePassword: Bound<typeof changePassword>
  listSessions: Bound<typeof listSessions>
  revokeOwnSession: Bound<typeof revokeOwnSession>
  currentUser: Bound<typeof currentUser>
  revocationFeed: Bound<typeof revocationFeed>
}

export function createServices (ctx: ServiceContext): Services {
  return {
    signup: (...args) => signup(ctx, ...args),
    login: (...args) => login(ctx, ...args),
    refresh: (...args) => refresh(ctx, ...args),
    logout: (...args) => logout(ctx, ...args),
    changePassword: (...args) => changePassword(ctx, ...args),
    listSessions: (...args) => listSessions(ctx, ...args),
    revokeOwnSession: (...args) => revokeOwnSession(ctx, ...args),
    currentUser: (...args) => currentUser(ctx, ...args),
    revocationFeed: (...args) => revocationFeed(ctx, ...args)
  }
}
