/**
 * A hold started from source as its own process (`bun src/main.ts serve --role hold`), configured only through
 * the environment as an operator would, and stopped by PID. `restart()` keeps the data directory.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, killPid, onStop, waitForHttp } from './procs.ts'

export const ROOT = join(import.meta.dir, '..', '..')

export interface HoldProc {
  url: string
  port: number
  did: string
  dataDir: string
  env: Record<string, string>
  log(): string
  pid(): number | undefined
  restart(extraEnv?: Record<string, string>): Promise<void>
  stop(): Promise<void>
}

/**
 * A hold from source. `host: 'localhost'` gives it the URL http://localhost:PORT, whose did:web resolvers
 * fetch over http (ATProto's rule for localhost), as an AppView in the same test must.
 */
export function startHold(env: Record<string, string> = {}, cmd = ['bun', join(ROOT, 'src/main.ts')], host = '127.0.0.1'): Promise<HoldProc> {
  return startRole('hold', env, cmd, host)
}

/** An AppView from source; `did` is empty (the AppView has no identity of its own yet). */
export function startAppview(env: Record<string, string> = {}, cmd = ['bun', join(ROOT, 'src/main.ts')]): Promise<HoldProc> {
  return startRole('appview', env, cmd, '127.0.0.1')
}

// A test run killed with SIGKILL cannot stop its servers by PID; they stop themselves once it is gone.
const exitWithUs = { ATCR_EXIT_WITH_PID: String(process.pid) }

async function startRole(role: 'hold' | 'appview', env: Record<string, string>, cmd: string[], host: string): Promise<HoldProc> {
  const port = freePort()
  const P = role === 'hold' ? 'HOLD' : 'APPVIEW'
  const dataDir = env[`${P}_DATABASE_PATH`] ?? mkdtempSync(join(tmpdir(), `atcr-${role}-`))
  const fullEnv: Record<string, string> =
    role === 'hold'
      ? { HOLD_SERVER_ADDR: `127.0.0.1:${port}`, HOLD_SERVER_PUBLIC_URL: `http://${host}:${port}`, HOLD_DATABASE_PATH: dataDir, ...exitWithUs, ...env }
      : { APPVIEW_SERVER_ADDR: `127.0.0.1:${port}`, APPVIEW_SERVER_BASE_URL: `http://127.0.0.1:${port}`, APPVIEW_DATABASE_PATH: dataDir, ...exitWithUs, ...env }
  let proc: ReturnType<typeof Bun.spawn> | null = null
  let out = ''
  const launch = async () => {
    const p = Bun.spawn([...cmd, 'serve', '--role', role], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...fullEnv },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    proc = p
    const dec = new TextDecoder()
    const collect = async (s: ReadableStream<Uint8Array>) => {
      for await (const c of s) {
        const text = dec.decode(c)
        out += text
        if (process.env.ATCR_TEST_VERBOSE) process.stderr.write(`[${role}] ${text}`)
      }
    }
    void collect(p.stdout as ReadableStream<Uint8Array>)
    void collect(p.stderr as ReadableStream<Uint8Array>)
    try {
      await waitForHttp(`http://127.0.0.1:${port}/xrpc/_health`, 30_000)
    } catch (err) {
      throw new Error(`${role} did not start: ${String(err)}\n${out}`)
    }
  }
  await launch()
  const did = role === 'hold' ? (await (await fetch(`http://127.0.0.1:${port}/.well-known/atproto-did`)).text()).trim() : ''
  const stopProc = async () => {
    if (proc) {
      await killPid(proc.pid)
      await proc.exited
      proc = null
    }
  }
  const h: HoldProc = {
    url: `http://127.0.0.1:${port}`,
    port,
    did,
    dataDir,
    env: fullEnv,
    log: () => out,
    pid: () => proc?.pid,
    async restart(extraEnv = {}) {
      await stopProc()
      Object.assign(fullEnv, extraEnv)
      await launch()
    },
    async stop() {
      await stopProc()
      if (!env[`${P}_DATABASE_PATH`]) rmSync(dataDir, { recursive: true, force: true })
    },
  }
  onStop(`${role} ${port}`, () => h.stop())
  return h
}

/** Calls a hold XRPC method; JSON in, JSON (or the raw Response for non-JSON) out. */
export async function xrpc(
  base: string,
  nsid: string,
  opts: { token?: string; params?: Record<string, string | number>; body?: unknown; method?: string; raw?: string | Uint8Array; redirect?: 'manual' | 'follow' | 'error' } = {},
): Promise<{ status: number; body: any; res: Response }> {
  const url = new URL(`/xrpc/${nsid}`, base)
  for (const [k, v] of Object.entries(opts.params ?? {})) url.searchParams.set(k, String(v))
  const headers: Record<string, string> = {}
  if (opts.token) headers.authorization = `Bearer ${opts.token}`
  let body: string | Uint8Array | undefined
  if (opts.raw !== undefined) body = opts.raw
  else if (opts.body !== undefined) {
    headers['content-type'] = 'application/json'
    body = JSON.stringify(opts.body)
  }
  const res = await fetch(url, {
    method: opts.method ?? (body !== undefined ? 'POST' : 'GET'),
    headers,
    body,
    redirect: opts.redirect ?? 'manual',
  })
  const type = res.headers.get('content-type') ?? ''
  const parsed = type.includes('json') ? await res.json() : null
  return { status: res.status, body: parsed, res }
}
