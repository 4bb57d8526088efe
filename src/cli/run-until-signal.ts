import type { Logger } from '../log.ts'

/** Whether a process exists (signal 0 checks without sending; EPERM means it exists but is not ours). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM'
  }
}

/**
 * The process a server should outlive by no more than a second: `ATCR_EXIT_WITH_PID`, which `bun run dev` and the
 * test harness set to their own PID, so a supervisor killed with SIGKILL leaves no server behind holding its port.
 * Read before the server starts, so a bad value never binds a port.
 */
export function watchedPid(env: Record<string, string | undefined> = process.env): number | undefined {
  const raw = env.ATCR_EXIT_WITH_PID
  if (raw === undefined || raw === '') return undefined
  const pid = Number(raw)
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new Error(`ATCR_EXIT_WITH_PID must be a process id, not "${raw}"`)
  return pid
}

/**
 * Keeps a server running until SIGINT/SIGTERM, or until the `watched` process is gone, then stops it and exits 0.
 * Returns -1: "still running".
 */
export function runUntilSignal(stop: () => Promise<void>, log: Logger, watched?: number): number {
  let stopping = false
  const shutdown = async (reason: Record<string, string>) => {
    if (stopping) return
    stopping = true
    log.info('stopping', reason)
    await stop()
    process.exit(0)
  }
  process.once('SIGINT', () => void shutdown({ signal: 'SIGINT' }))
  process.once('SIGTERM', () => void shutdown({ signal: 'SIGTERM' }))
  if (watched !== undefined) {
    const timer = setInterval(() => {
      if (!alive(watched)) void shutdown({ reason: `process ${watched} (ATCR_EXIT_WITH_PID) is gone` })
    }, 1000)
    timer.unref()
  }
  return -1
}
