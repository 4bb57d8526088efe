/**
 * Child processes started by test harnesses. Every process is registered here and stopped by PID at the end
 * of the run (preload.ts), and also on abrupt exit, so a failed run leaves nothing behind on 127.0.0.1.
 */
type Stopper = { name: string; stop: () => Promise<void> }
const stoppers: Stopper[] = []

export function onStop(name: string, stop: () => Promise<void>): void {
  stoppers.push({ name, stop })
}

export async function stopAll(): Promise<void> {
  while (stoppers.length) {
    const s = stoppers.pop()!
    try {
      await s.stop()
    } catch (err) {
      console.error(`harness: stopping ${s.name} failed`, err)
    }
  }
}

/** Whether a process with this PID exists (signal 0 probes without sending anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Sends SIGTERM to a PID, waits up to `graceMs`, then SIGKILL. Missing processes are fine. */
export async function killPid(pid: number, graceMs = 5000): Promise<void> {
  const alive = () => isAlive(pid)
  if (!alive()) return
  try {
    process.kill(pid, 'SIGTERM')
  } catch {
    return
  }
  const until = Date.now() + graceMs
  while (alive() && Date.now() < until) await Bun.sleep(100)
  if (alive()) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {}
  }
}

/** A free TCP port on 127.0.0.1, chosen by the kernel. */
export function freePort(): number {
  const s = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const port = s.port
  s.stop(true)
  return port
}

/** Polls `url` until it answers (any status < 500) or `timeoutMs` passes. */
export async function waitForHttp(url: string, timeoutMs = 30000): Promise<void> {
  const until = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < until) {
    try {
      const res = await fetch(url)
      if (res.status < 500) return
      last = `status ${res.status}`
    } catch (err) {
      last = err
    }
    await Bun.sleep(200)
  }
  throw new Error(`timed out waiting for ${url}: ${String(last)}`)
}

const exitHandler = () => {
  for (const s of stoppers) void s.stop()
}
process.once('SIGINT', exitHandler)
process.once('SIGTERM', exitHandler)
