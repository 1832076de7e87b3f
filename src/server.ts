import closeWithGrace from 'close-with-grace'
import { buildServer } from './build.js'
import { ConfigError, parseConfig, type GatehouseConfig } from './config.js'

let config: GatehouseConfig
try {
  config = parseConfig(process.env)
} catch (err) {
  if (!(err instanceof ConfigError)) throw err
  process.stderr.write(`gatehouse: invalid configuration: ${err.message}\n`)
  process.exit(1)
}

const app = await buildServer(config)

closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'closing after an error')
  else app.log.info({ signal }, 'closing')
  await app.close()
})

try {
  await app.listen({ host: config.host, port: config.port })
} catch (err) {
  app.log.error({ err }, 'could not listen')
  process.exit(1)
}
