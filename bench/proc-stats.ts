/** Per-process figures read from /proc, for benchmarks that start their servers as child processes. */
import { readFileSync } from 'node:fs'

/** Resident set size of a process in bytes (VmRSS), or 0 when it is gone. */
export function rss(pid: number | undefined): number {
  if (!pid) return 0
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : 0
  } catch {
    return 0
  }
}

/** Samples the RSS of each named PID every 100 ms until stopped; returns the maximum seen per name. */
export function sampleRss(pids: Record<string, number | undefined>): () => Record<string, number> {
  const max: Record<string, number> = Object.fromEntries(Object.keys(pids).map((k) => [k, 0]))
  const tick = () => {
    for (const [k, pid] of Object.entries(pids)) max[k] = Math.max(max[k]!, rss(pid))
  }
  tick()
  const timer = setInterval(tick, 100)
  return () => {
    clearInterval(timer)
    tick()
    return max
  }
}

/** CPU time (user + system) a process has used so far, in seconds, or 0 when it is gone. */
export function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0
  try {
    // Fields after the command name: state is [0], utime [11], stime [12], in clock ticks (100 Hz on Linux).
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return (Number(f[11]) + Number(f[12])) / 100
  } catch {
    return 0
  }
}
