import fp from 'fastify-plugin'
import type { GatehouseConfig } from '../src/server/config.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: GatehouseConfig
  }
}

export interface ConfigPluginOptions {
  config: GatehouseConfig
}

export default fp<ConfigPluginOptions>(async function configPlugin (app, opts) {
  app.decorate('config', opts.config)
  for (const warning of opts.config.warnings) app.log.warn(warning)
}, { name: 'config' })
