import closeWithGrace from 'close-with-grace'
import { buildServer } from './build.js'
import { ConfigError, parseConfig, type GatehouseConfig } from './config.js'

let config: GatehouseConfig
try {
  config = parseConfig(process.env)
} catch (err) {
  // parseConfig throws only ConfigError, whose message is one line naming the variable.
  process.stderr.write(`gatehouse: invalid configuration: ${(err as ConfigError).message}\n`)
  process.exit(1)
}

const app = await buildServer(config)

closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
  // `err` is set only when an uncaught error closes the process, which no test can provoke from outside.
  /* c8 ignore next */
  app.log[err ? 'error' : 'info']({ signal, err }, 'closing')
  await app.close()
})

try {
  await app.listen({ host: config.host, port: config.port })
} catch (err) {
  app.log.error({ err }, 'could not listen')
  process.exit(1)
}
