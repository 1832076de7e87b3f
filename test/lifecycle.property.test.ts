import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { build } from './helpers/build.js'

/*
 * Random sequences of logins, refreshes, replays of spent refresh tokens,
 * logouts and password changes, checked after every step against a small
 * model of the token lifecycle rules in API.md:
 * - a login opens a live session;
 * - presenting a spent refresh token again is reuse: its session is revoked;
 * - logout local revokes the caller's session, others every other session of
 *   the user, global all of them; a password change revokes every other one;
 * - a revoked session refreshes no more and its access tokens are refused.
 * Every replay here comes after the reply that spent the token, so it is
 * reuse, never a concurrent duplicate.
 */

const USERS = 2
const INITIAL_PASSWORD = 'correct horse battery'
const SCOPES = ['local', 'others', 'global'] as const
type Scope = typeof SCOPES[number]

interface Model {
  passwords: string[]
  sessions: Array<{ user: number, live: boolean, spent: number }>
}

interface Real {
  app: FastifyInstance
  emails: string[]
  /** Index for index with the model's sessions. */
  sessions: Array<{ sid: string, access: string, refresh: string, spent: string[] }>
}

interface TokenPair { access_token: string, refresh_token: string }

const sidOf = (accessToken: string): string =>
  (JSON.parse(Buffer.from(accessToken.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sid: string }).sid

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

function revoke (model: Model, which: (session: Model['sessions'][number], index: number) => boolean): void {
  model.sessions.forEach((session, index) => { if (which(session, index)) session.live = false })
}

/** The server agrees with the model on every session ever opened. */
async function assertAgreement (model: Model, real: Real, after: string): Promise<void> {
  await Promise.all(model.sessions.map(async (session, i) => {
    const res = await real.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(real.sessions[i]!.access) })
    assert.equal(res.statusCode, session.live ? 200 : 401, `after ${after}: access token of session ${i} (${session.live ? 'live' : 'revoked'})`)
    if (!session.live) assert.equal(res.json<{ code: string }>().code, 'invalid_token')
  }))
  // Liveness without spending refresh tokens: each user's session list is exactly the model's live sessions.
  await Promise.all(model.passwords.map(async (_password, user) => {
    const live = model.sessions.flatMap((s, i) => s.user === user && s.live ? [i] : [])
    if (live.length === 0) return
    const res = await real.app.inject({ method: 'GET', url: '/auth/sessions', headers: bearer(real.sessions[live[0]!]!.access) })
    assert.equal(res.statusCode, 200, `after ${after}: session list of user ${user}`)
    const listed = res.json<{ sessions: Array<{ id: string }> }>().sessions.map(s => s.id).sort()
    assert.deepEqual(listed, live.map(i => real.sessions[i]!.sid).sort(), `after ${after}: live sessions of user ${user}`)
  }))
}

abstract class Step implements fc.AsyncCommand<Model, Real> {
  abstract check (model: Readonly<Model>): boolean
  abstract act (model: Model, real: Real): Promise<void>
  abstract toString (): string

  async run (model: Model, real: Real): Promise<void> {
    await this.act(model, real)
    await assertAgreement(model, real, this.toString())
  }
}

/** Picks one of the sessions opened so far (shrinking may drop logins, so the pick wraps). */
const pickSession = (model: Readonly<Model>, pick: number) => pick % model.sessions.length

class Login extends Step {
  constructor (readonly user: number) { super() }
  check () { return true }
  async act (model: Model, real: Real) {
    const res = await real.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: real.emails[this.user], password: model.passwords[this.user] }
    })
    assert.equal(res.statusCode, 200, `login of user ${this.user}`)
    const pair = res.json<TokenPair>()
    real.sessions.push({ sid: sidOf(pair.access_token), access: pair.access_token, refresh: pair.refresh_token, spent: [] })
    model.sessions.push({ user: this.user, live: true, spent: 0 })
  }

  toString () { return `login(user ${this.user})` }
}

class Refresh extends Step {
  constructor (readonly pick: number) { super() }
  check (model: Readonly<Model>) { return model.sessions.length > 0 }
  async act (model: Model, real: Real) {
    const i = pickSession(model, this.pick)
    const session = real.sessions[i]!
    const res = await real.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: session.refresh } })
    if (!model.sessions[i]!.live) {
      assert.equal(res.statusCode, 401, `refresh of revoked session ${i}`)
      assert.equal(res.json<{ code: string }>().code, 'invalid_grant')
      return
    }
    assert.equal(res.statusCode, 200, `refresh of live session ${i}`)
    const pair = res.json<TokenPair>()
    assert.equal(sidOf(pair.access_token), session.sid, 'the new pair is in the same session')
    assert.notEqual(pair.refresh_token, session.refresh, 'a new refresh token is minted')
    session.spent.push(session.refresh)
    session.refresh = pair.refresh_token
    session.access = pair.access_token
    model.sessions[i]!.spent++
  }

  toString () { return `refresh(session #${this.pick})` }
}

class Replay extends Step {
  constructor (readonly pick: number, readonly which: number) { super() }
  check (model: Readonly<Model>) { return model.sessions.some(s => s.spent > 0) }
  async act (model: Model, real: Real) {
    const rotated = model.sessions.flatMap((s, i) => s.spent > 0 ? [i] : [])
    const i = rotated[this.pick % rotated.length]!
    const spent = real.sessions[i]!.spent
    const res = await real.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: spent[this.which % spent.length] } })
    assert.equal(res.statusCode, 401, `replay of a spent token of session ${i}`)
    assert.equal(res.json<{ code: string }>().code, 'invalid_grant')
    revoke(model, (_s, index) => index === i)
  }

  toString () { return `replay(rotated session #${this.pick}, spent token #${this.which})` }
}

class Logout extends Step {
  constructor (readonly pick: number, readonly scope: Scope) { super() }
  check (model: Readonly<Model>) { return model.sessions.length > 0 }
  async act (model: Model, real: Real) {
    const i = pickSession(model, this.pick)
    const caller = model.sessions[i]!
    const res = await real.app.inject({ method: 'POST', url: `/auth/logout?scope=${this.scope}`, headers: bearer(real.sessions[i]!.access) })
    if (!caller.live) {
      assert.equal(res.statusCode, 401, `logout from revoked session ${i}`)
      return
    }
    assert.equal(res.statusCode, 204, `logout ${this.scope} from session ${i}`)
    revoke(model, (s, index) => s.user === caller.user &&
      (this.scope === 'global' || (this.scope === 'local') === (index === i)))
  }

  toString () { return `logout(session #${this.pick}, ${this.scope})` }
}

class ChangePassword extends Step {
  constructor (readonly pick: number, readonly newPassword: string) { super() }
  check (model: Readonly<Model>) { return model.sessions.length > 0 }
  async act (model: Model, real: Real) {
    const i = pickSession(model, this.pick)
    const caller = model.sessions[i]!
    const res = await real.app.inject({
      method: 'POST',
      url: '/auth/password',
      headers: bearer(real.sessions[i]!.access),
      payload: { current_password: model.passwords[caller.user], new_password: this.newPassword }
    })
    if (!caller.live) {
      assert.equal(res.statusCode, 401, `password change from revoked session ${i}`)
      return
    }
    assert.equal(res.statusCode, 204, `password change from session ${i}`)
    model.passwords[caller.user] = this.newPassword
    revoke(model, (s, index) => s.user === caller.user && index !== i)
  }

  toString () { return `changePassword(session #${this.pick}, ${JSON.stringify(this.newPassword)})` }
}

const steps = [
  fc.integer({ min: 0, max: USERS - 1 }).map(user => new Login(user)),
  fc.nat(20).map(pick => new Refresh(pick)),
  fc.tuple(fc.nat(20), fc.nat(20)).map(([pick, which]) => new Replay(pick, which)),
  fc.tuple(fc.nat(20), fc.constantFrom(...SCOPES)).map(([pick, scope]) => new Logout(pick, scope)),
  fc.tuple(fc.nat(20), fc.string({ unit: 'grapheme', minLength: 8, maxLength: 16 }))
    .map(([pick, password]) => new ChangePassword(pick, password))
]

t.test('sessions, refresh rotation, reuse detection, logout scopes and password changes agree with the lifecycle model', async t => {
  let run = 0
  const property = fc.asyncProperty(fc.commands(steps, { maxCommands: 12 }), async (commands) => {
    // A fresh server per run: each run starts from two signed-up users and no sessions.
    const closers: Array<() => unknown> = []
    try {
      const app = await build({ teardown: fn => { closers.push(fn) } }, { REFRESH_REUSE_INTERVAL: '0' })
      run++
      const emails = Array.from({ length: USERS }, (_, user) => `user${user}.run${run}@example.com`)
      for (const email of emails) {
        const res = await app.inject({ method: 'POST', url: '/auth/signup', payload: { email, password: INITIAL_PASSWORD } })
        assert.equal(res.statusCode, 201, 'signup')
      }
      const model: Model = { passwords: emails.map(() => INITIAL_PASSWORD), sessions: [] }
      const real: Real = { app, emails, sessions: [] }
      await fc.asyncModelRun(() => ({ model, real }), commands)

      // Last, spend every session's newest refresh token at once (rotations of different sessions do not wait on each other).
      await Promise.all(model.sessions.map(async (session, i) => {
        const res = await app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: real.sessions[i]!.refresh } })
        assert.equal(res.statusCode, session.live ? 200 : 401, `at the end: newest refresh token of session ${i} (${session.live ? 'live' : 'revoked'})`)
      }))
    } finally {
      for (const close of closers) await close()
    }
  })
  await t.resolves(fc.assert(property, { numRuns: 20 }), 'no counterexample')
})
