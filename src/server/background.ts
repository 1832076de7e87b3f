import type { FastifyInstance } from 'fastify'

export interface BackgroundTaskOptions {
  /** Milliseconds between the end of one run and the start of the next. */
  interval: number
  /** Logged (warn, with the error) when a run fails after one that worked: once per outage. */
  failing: string
  /** Logged (info) when a run works again after failing. */
  recovered: string
}

/**
 * Runs `task` now and then until the app closes. Runs never overlap, and an
 * outage is logged when it starts and when it ends, not at every failed run:
 * a store that is down for an hour must not write a warning every second.
 */
export function runInBackground (app: FastifyInstance, task: () => Promise<unknown>, options: BackgroundTaskOptions): void {
  let failing = false
  let closed = false
  let running: Promise<void> | undefined
  let timer: NodeJS.Timeout | undefined

  async function run () {
    try {
      await task()
      if (failing) app.log.info(options.recovered)
      failing = false
    } catch (err) {
      if (!failing) app.log.warn({ err }, options.failing)
      failing = true
    }
  }

  function schedule () {
    timer = setTimeout(() => {
      running = run().finally(() => {
        running = undefined
        if (!closed) schedule()
      })
    }, options.interval)
    // The timer alone does not keep the process alive.
    timer.unref()
  }

  schedule()
  app.addHook('onClose', async () => {
    closed = true
    clearTimeout(timer)
    // A run in flight finishes before the store it uses is closed.
    await running
  })
}
