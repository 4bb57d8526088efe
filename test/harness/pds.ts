/**
 * A real PLC + PDS (the official `@atproto/pds` via `@atproto/dev-env`) for integration tests, started once per
 * test process under **node** (`test/pds/network.mjs`; the PDS does not run under Bun) on free 127.0.0.1 ports,
 * and stopped by PID when the run ends (procs.ts). Accounts get `.test` handles; no invite codes are needed.
 *
 * Quirk: `.test` handles do not resolve through DNS or `https://<handle>/.well-known/atproto-did`; ask the PDS
 * (`com.atproto.identity.resolveHandle`) or use the DID. DID documents come from the local PLC and name the PDS
 * as `http://localhost:<port>`.
 */
import { AtpAgent } from '@atproto/api'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { freePort, killPid, onStop } from './procs.ts'

export type TestUser = {
  did: string
  handle: string
  password: string
  /** Logged in with the account password (full access). */
  agent: AtpAgent
  /** Creates a new app password for this account. */
  appPassword(): Promise<string>
  /** A service-auth JWT from `com.atproto.server.getServiceAuth` (`exp` = now + expSeconds when given). */
  serviceToken(aud: string, lxm?: string, expSeconds?: number): Promise<string>
}

export type Pds = {
  plcUrl: string
  pdsUrl: string
  pid: number
  /** Milliseconds from spawn to "both servers listen", as measured here (includes node start-up). */
  startupMs: number
  /** A fresh account with handle `<prefix><n>.test`, logged in. */
  createUser(handlePrefix?: string): Promise<TestUser>
  /** Sends a command to network.mjs (admin-only operations); rejects with its `error`. */
  command<T = Record<string, unknown>>(op: string, args?: Record<string, unknown>): Promise<T>
  stop(): Promise<void>
}

const PDS_DIR = join(import.meta.dir, '..', 'pds')
const SCRIPT = join(PDS_DIR, 'network.mjs')
const STARTUP_TIMEOUT_MS = 60_000

let current: Promise<Pds> | null = null
let currentPid: number | null = null

/** Starts the PLC + PDS once per process; later calls get the same instance (a new one after it stopped). */
export function startPds(): Promise<Pds> {
  if (!current) {
    current = launch()
    current.catch(() => {
      current = null
    })
  }
  return current
}

async function launch(): Promise<Pds> {
  if (!existsSync(join(PDS_DIR, 'node_modules', '@atproto', 'dev-env'))) {
    throw new Error(`test PDS not installed: run \`cd test/pds && npm install\` (or scripts/setup.sh --test)`)
  }
  const t0 = performance.now()
  const plcPort = freePort()
  let pdsPort = freePort()
  while (pdsPort === plcPort) pdsPort = freePort()
  const proc = Bun.spawn(['node', SCRIPT], {
    cwd: PDS_DIR,
    env: { ...process.env, PLC_PORT: String(plcPort), PDS_PORT: String(pdsPort), LOG_ENABLED: 'false' },
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const pid = proc.pid
  currentPid = pid
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    if (currentPid === pid) {
      current = null
      currentPid = null
    }
    try {
      proc.stdin.end()
    } catch {}
    await killPid(pid, 8000)
  }
  onStop(`pds (pid ${pid})`, stop)

  // stderr: keep the tail for error messages (and keep the pipe drained).
  let stderrTail = ''
  void (async () => {
    const dec = new TextDecoder()
    for await (const chunk of proc.stderr) {
      stderrTail = (stderrTail + dec.decode(chunk, { stream: true })).slice(-8000)
      if (process.env.PDS_DEBUG) process.stderr.write(chunk)
    }
  })().catch(() => {})

  // stdout: JSON lines; the first is the ready line, the rest answer commands by id.
  const pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>()
  let onReady!: (v: { plc: string; pds: string }) => void
  let onFail!: (e: Error) => void
  const ready = new Promise<{ plc: string; pds: string }>((res, rej) => {
    onReady = res
    onFail = rej
  })
  void (async () => {
    const dec = new TextDecoder()
    let buf = ''
    let gotReady = false
    for await (const chunk of proc.stdout) {
      buf += dec.decode(chunk, { stream: true })
      let nl: number
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim()
        buf = buf.slice(nl + 1)
        if (!line.startsWith('{')) continue
        let msg: any
        try {
          msg = JSON.parse(line)
        } catch {
          continue
        }
        if (!gotReady && typeof msg.plc === 'string' && typeof msg.pds === 'string') {
          gotReady = true
          onReady(msg)
          continue
        }
        const p = typeof msg.id === 'number' ? pending.get(msg.id) : undefined
        if (!p) continue
        pending.delete(msg.id)
        if (typeof msg.error === 'string') p.reject(new Error(`pds ${msg.error}`))
        else p.resolve(msg)
      }
    }
  })()
    .catch(() => {})
    .finally(() => {
      const err = new Error(`test PDS (pid ${pid}) exited: ${stderrTail.slice(-2000)}`)
      onFail(err)
      for (const p of pending.values()) p.reject(err)
      pending.clear()
    })

  const timer = setTimeout(() => onFail(new Error(`test PDS did not start in ${STARTUP_TIMEOUT_MS} ms: ${stderrTail.slice(-2000)}`)), STARTUP_TIMEOUT_MS)
  let urls: { plc: string; pds: string }
  try {
    urls = await ready
  } catch (err) {
    await stop()
    throw err
  } finally {
    clearTimeout(timer)
  }
  const startupMs = Math.round(performance.now() - t0)

  let nextId = 1
  const command = <T = Record<string, unknown>>(op: string, args: Record<string, unknown> = {}): Promise<T> => {
    if (stopped) return Promise.reject(new Error('test PDS stopped'))
    const id = nextId++
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve, reject })
      proc.stdin.write(JSON.stringify({ ...args, op, id }) + '\n')
      proc.stdin.flush()
    })
  }

  let userCounter = 0
  const createUser = async (handlePrefix = 'user'): Promise<TestUser> => {
    // Service handles: the first label must be 3–18 characters, [a-z0-9-], starting with a letter.
    const prefix = (handlePrefix.toLowerCase().replace(/[^a-z0-9]/g, '') || 'user').slice(0, 10)
    const n = `${++userCounter}${Math.random().toString(36).slice(2, 6)}`
    const handle = `${/^[a-z]/.test(prefix) ? '' : 'u'}${prefix}${n}`.slice(0, 18) + '.test'
    const password = `pw-${crypto.randomUUID()}`
    const agent = new AtpAgent({ service: urls.pds })
    const res = await agent.createAccount({ handle, password, email: `${handle}@test.invalid` })
    const did = res.data.did
    let appPasswords = 0
    return {
      did,
      handle: res.data.handle,
      password,
      agent,
      async appPassword() {
        const r = await agent.com.atproto.server.createAppPassword({ name: `test-${++appPasswords}-${Date.now()}` })
        return r.data.password
      },
      async serviceToken(aud, lxm, expSeconds) {
        const exp = expSeconds === undefined ? undefined : Math.floor(Date.now() / 1000) + expSeconds
        const r = await agent.com.atproto.server.getServiceAuth({ aud, lxm, exp })
        return r.data.token
      },
    }
  }

  return { plcUrl: urls.plc, pdsUrl: urls.pds, pid, startupMs, createUser, command, stop }
}
