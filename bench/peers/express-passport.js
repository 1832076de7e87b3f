// Express 5 + passport-jwt, configured the way its README shows, with
// Gatehouse's ES256 public key as PEM. The greeting route of the seed.
import { peerRequire, port, publicKeyPem, ready, ISSUER, AUDIENCE } from './common.js'

const express = peerRequire('express')
const passport = peerRequire('passport')
const { Strategy, ExtractJwt } = peerRequire('passport-jwt')

passport.use(new Strategy({
  jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
  secretOrKey: publicKeyPem(),
  algorithms: ['ES256'],
  issuer: ISSUER,
  audience: AUDIENCE
}, (payload, done) => done(null, { sub: payload.sub })))

const app = express()
app.use(passport.initialize())
const authenticate = passport.authenticate('jwt', { session: false })

app.get('/', (req, res, next) => {
  if (req.headers.authorization === undefined) return res.json({ message: 'Hello, guest!' })
  authenticate(req, res, () => res.json({ message: `Hello, ${req.user.sub}!` }))
})

app.listen(port, '127.0.0.1', ready)
