import type { Logger } from '../log.ts'

/** Keeps a server running until SIGINT/SIGTERM, then stops it and exits 0. Returns -1: "still running". */
export function runUntilSignal(stop: () => Promise<void>, log: Logger): number {
  let stopping = false
  const shutdown = async (signal: string) => {
    if (stopping) return
    stopping = true
    log.info('stopping', { signal })
    await stop()
    process.exit(0)
  }
  process.once('SIGINT', () => void shutdown('SIGINT'))
  process.once('SIGTERM', () => void shutdown('SIGTERM'))
  return -1
}
