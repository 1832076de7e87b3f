import fp from 'fastify-plugin'
import { systemClock, type Clock } from '../src/domain/clock.js'
import type { GatehouseConfig } from '../src/server/config.js'
import { DEFAULT_TIMINGS, type Timings } from '../src/server/timings.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: GatehouseConfig
    /** The time every plugin, route and service reads. */
    clock: Clock
    timings: Timings
  }
}

export interface ConfigPluginOptions {
  config: GatehouseConfig
  clock?: Clock
  timings?: Partial<Timings>
}

export default fp<ConfigPluginOptions>(async function configPlugin (app, opts) {
  app.decorate('config', opts.config)
  app.decorate('clock', opts.clock ?? systemClock)
  app.decorate('timings', { ...DEFAULT_TIMINGS, ...opts.timings })
  for (const warning of opts.config.warnings) app.log.warn(warning)
}, { name: 'config' })
