/**
 * `bun run dev`: a complete local registry on 127.0.0.1, each part a child process of this one.
 *
 *   PLC + PDS   node test/pds/network.mjs   (@atproto/dev-env; ephemeral: a fresh account every run)
 *   hold        bun src/main.ts serve --role hold      fs storage under <DEV_DIR>/hold, did:web:localhost%3A<port>
 *   AppView     bun src/main.ts serve --role appview   data under <DEV_DIR>/appview, the registry clients talk to
 *
 * A demo account (`alice.test`) with an app password is created on the PDS; the commands to try are printed and
 * the same facts written to <DEV_DIR>/stack.json (with the children's PIDs). Ctrl-C (SIGINT), SIGTERM or SIGHUP
 * stops every child by PID; if any child dies, everything stops and this exits non-zero.
 *
 * Environment: DEV_PLC_PORT (2582), DEV_PDS_PORT (2583), DEV_HOLD_PORT (8080), DEV_APPVIEW_PORT (5000),
 * DEV_DIR (<repo>/.dev), DEV_HANDLE (alice.test), LOG_ENABLED=true for the PDS's own logs.
 */
import { AtpAgent } from '@atproto/api'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'

const ROOT = resolve(import.meta.dir, '..')
const PDS_DIR = join(ROOT, 'test', 'pds')
const t0 = performance.now()

// ---- console ------------------------------------------------------------------------------------------------

const tty = !!process.stdout.isTTY && !process.env.NO_COLOR
const paint = (code: number, s: string) => (tty ? `\x1b[${code}m${s}\x1b[0m` : s)
const TAGS: Record<string, string> = {
  dev: paint(33, '[dev]'),
  pds: paint(35, '[pds]'),
  hold: paint(36, '[hold]'),
  appview: paint(32, '[appview]'),
}
const say = (msg: string) => {
  for (const line of msg.split('\n')) process.stdout.write(`${TAGS.dev} ${line}\n`)
}
const bold = (s: string) => paint(1, s)

/** Copies a child's stream to our console, one prefixed line at a time; `onLine` may swallow a line. */
async function pipeLines(stream: ReadableStream<Uint8Array>, tag: string, toErr: boolean, onLine?: (line: string) => boolean): Promise<void> {
  const out = toErr ? process.stderr : process.stdout
  const dec = new TextDecoder()
  let buf = ''
  const emit = (line: string) => {
    if (onLine?.(line)) return
    out.write(`${TAGS[tag]} ${line}\n`)
  }
  try {
    for await (const chunk of stream) {
      buf += dec.decode(chunk, { stream: true })
      let nl: number
      while ((nl = buf.indexOf('\n')) >= 0) {
        emit(buf.slice(0, nl).replace(/\r$/, ''))
        buf = buf.slice(nl + 1)
      }
    }
  } catch {}
  buf += dec.decode()
  if (buf) emit(buf)
}

// ---- settings -----------------------------------------------------------------------------------------------

function portFromEnv(name: string, def: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return def
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1 || n > 65535) fail(`${name}=${raw} is not a TCP port`)
  return n
}

function fail(msg: string): never {
  process.stderr.write(`${TAGS.dev} ${paint(31, 'error:')} ${msg}\n`)
  process.exit(1)
}

const ports = {
  plc: portFromEnv('DEV_PLC_PORT', 2582),
  pds: portFromEnv('DEV_PDS_PORT', 2583),
  hold: portFromEnv('DEV_HOLD_PORT', 8080),
  appview: portFromEnv('DEV_APPVIEW_PORT', 5000),
}
const DEV_DIR = resolve(process.env.DEV_DIR || join(ROOT, '.dev'))
const HANDLE = process.env.DEV_HANDLE || 'alice.test'
const STACK_JSON = join(DEV_DIR, 'stack.json')
const shown = (p: string) => (p.startsWith(ROOT + '/') ? relative(ROOT, p) : p)

// ---- child processes ----------------------------------------------------------------------------------------

type Child = { name: string; proc: Bun.Subprocess<'pipe' | 'ignore', 'pipe', 'pipe'>; graceMs: number }
const children: Child[] = []
let stopping = false

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** SIGTERM, up to `graceMs` to exit, then SIGKILL: by PID, the child only. */
async function stopChild(c: Child): Promise<void> {
  const pid = c.proc.pid
  if (c.proc.exitCode !== null || c.proc.signalCode !== null || !alive(pid)) return
  try {
    process.kill(pid, 'SIGTERM')
  } catch {
    return
  }
  const exited = await Promise.race([c.proc.exited.then(() => true), Bun.sleep(c.graceMs).then(() => false)])
  if (!exited && alive(pid)) {
    say(`${c.name} (pid ${pid}) did not stop in ${c.graceMs} ms; SIGKILL`)
    try {
      process.kill(pid, 'SIGKILL')
    } catch {}
    await Promise.race([c.proc.exited, Bun.sleep(2000)])
  }
}

/** Stops every child, newest first (AppView, hold, PDS), removes stack.json, exits. */
async function shutdown(code: number, why: string): Promise<never> {
  if (stopping) return new Promise<never>(() => {})
  stopping = true
  say(`${why}; stopping ${children.map((c) => `${c.name} (pid ${c.proc.pid})`).join(', ') || 'nothing started yet'}`)
  for (const c of [...children].reverse()) await stopChild(c)
  rmSync(STACK_JSON, { force: true })
  say(code === 0 ? 'stopped' : `stopped (exit ${code})`)
  process.exit(code)
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => void shutdown(0, `${sig}`))

/**
 * Starts a child in its own process group (so a terminal's Ctrl-C reaches only this script, which then stops
 * the children in order), with its output prefixed; if it exits while we are not stopping, everything stops.
 */
function spawnChild(name: string, cmd: string[], env: Record<string, string | undefined>, opts: { stdin?: 'pipe'; cwd?: string; graceMs?: number; onStdoutLine?: (l: string) => boolean } = {}): Child {
  const proc = Bun.spawn(cmd, {
    cwd: opts.cwd ?? ROOT,
    env,
    stdin: opts.stdin ?? 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    detached: true,
  }) as Child['proc']
  const c: Child = { name, proc, graceMs: opts.graceMs ?? 5000 }
  children.push(c)
  void pipeLines(proc.stdout, name, false, opts.onStdoutLine)
  void pipeLines(proc.stderr, name, true)
  void proc.exited.then((code) => {
    if (stopping) return
    const how = proc.signalCode ? `signal ${proc.signalCode}` : `code ${code}`
    void shutdown(1, paint(31, `${name} (pid ${proc.pid}) exited unexpectedly (${how})`))
  })
  return c
}

/** Polls `url` until it answers 200; fails early when `child` exits. */
async function waitHealthy(c: Child, url: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs
  let last: unknown = 'no answer'
  while (Date.now() < until) {
    if (c.proc.exitCode !== null || c.proc.signalCode !== null) throw new Error(`${c.name} exited before it became healthy`)
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) })
      if (res.ok) return
      last = `status ${res.status}`
    } catch (err) {
      last = err instanceof Error ? err.message : String(err)
    }
    await Bun.sleep(150)
  }
  throw new Error(`${c.name} not healthy at ${url} after ${timeoutMs / 1000} s (${String(last)})`)
}

// ---- pre-flight ---------------------------------------------------------------------------------------------

/** null when the port can be bound on 127.0.0.1 (and on ::1, where IPv6 exists); else why not. */
function portProblem(port: number): string | null {
  for (const hostname of ['127.0.0.1', '::1']) {
    try {
      const s = Bun.listen({ hostname, port, socket: { data() {} } })
      s.stop(true)
    } catch (err) {
      const code = (err as { code?: string }).code
      if (hostname === '::1' && code !== 'EADDRINUSE') continue // no IPv6 loopback here: fine
      return code === 'EADDRINUSE' ? `in use on ${hostname}` : `cannot listen on ${hostname}: ${(err as Error).message}`
    }
  }
  return null
}

function preflight(): void {
  const seen = new Map<number, string>()
  for (const [name, port] of Object.entries(ports)) {
    if (seen.has(port)) fail(`DEV_${seen.get(port)!.toUpperCase()}_PORT and DEV_${name.toUpperCase()}_PORT are both ${port}`)
    seen.set(port, name)
  }
  const busy = Object.entries(ports).flatMap(([name, port]) => {
    const p = portProblem(port)
    return p ? [`  ${name} port ${port}: ${p} (choose another with DEV_${name.toUpperCase()}_PORT=…)`] : []
  })
  if (busy.length) {
    let hint = ''
    try {
      const prev = JSON.parse(readFileSync(STACK_JSON, 'utf8')) as { pid?: number }
      if (prev.pid && alive(prev.pid)) hint = `\nanother \`bun run dev\` seems to be running (pid ${prev.pid}, ${shown(STACK_JSON)}); stop it first`
    } catch {}
    fail(`ports needed by the dev stack are busy:\n${busy.join('\n')}${hint}`)
  }
  if (!Bun.which('node')) fail('node is needed for the dev PDS (it does not run under Bun): install Node.js 18+')
}

async function ensurePdsDeps(): Promise<void> {
  if (existsSync(join(PDS_DIR, 'node_modules', '@atproto', 'dev-env'))) return
  say('installing @atproto/dev-env for the local PDS in test/pds (npm; a few minutes, once)')
  const p = Bun.spawn(['npm', 'install', '--no-fund', '--no-audit', '--loglevel=error'], { cwd: PDS_DIR, stdout: 'inherit', stderr: 'inherit', stdin: 'ignore' })
  const code = await p.exited
  if (code !== 0) fail(`npm install in test/pds failed (exit ${code})`)
}

/** Our environment minus anything that would reconfigure the hold or AppView behind our back. */
function baseEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(HOLD_|APPVIEW_|AWS_|S3_)/.test(k)) continue
    env[k] = v
  }
  return env
}

// ---- the stack ----------------------------------------------------------------------------------------------

async function startPds(): Promise<{ child: Child; plc: string; pds: string }> {
  let onReady!: (v: { plc: string; pds: string }) => void
  const ready = new Promise<{ plc: string; pds: string }>((r) => (onReady = r))
  let gotReady = false
  const child = spawnChild(
    'pds',
    ['node', join(PDS_DIR, 'network.mjs')],
    { ...baseEnv(), PLC_PORT: String(ports.plc), PDS_PORT: String(ports.pds), LOG_ENABLED: process.env.LOG_ENABLED ?? 'false' },
    {
      stdin: 'pipe', // network.mjs also stops when its stdin closes, i.e. when this script dies
      cwd: PDS_DIR,
      graceMs: 8000,
      onStdoutLine: (line) => {
        if (gotReady || !line.startsWith('{')) return false
        try {
          const msg = JSON.parse(line) as { plc?: unknown; pds?: unknown }
          if (typeof msg.plc === 'string' && typeof msg.pds === 'string') {
            gotReady = true
            onReady({ plc: msg.plc, pds: msg.pds })
            return true
          }
        } catch {}
        return false
      },
    },
  )
  const timeoutMs = 120_000
  const urls = await Promise.race([
    ready,
    child.proc.exited.then(() => {
      throw new Error('the PDS exited during start-up (see [pds] lines above)')
    }),
    Bun.sleep(timeoutMs).then(() => {
      throw new Error(`the PDS did not start in ${timeoutMs / 1000} s`)
    }),
  ])
  await waitHealthy(child, `${urls.pds}/xrpc/_health`, 30_000)
  return { child, ...urls }
}

async function main(): Promise<void> {
  preflight()
  await ensurePdsDeps()

  // The PDS (and so the account and its DID) is new every run: hold and AppView state would point at DIDs that
  // no longer exist, so it goes too.
  mkdirSync(DEV_DIR, { recursive: true })
  for (const sub of ['hold', 'appview']) rmSync(join(DEV_DIR, sub), { recursive: true, force: true })
  rmSync(STACK_JSON, { force: true })
  say(`wiped ${shown(join(DEV_DIR, 'hold'))} and ${shown(join(DEV_DIR, 'appview'))} (the dev PDS is ephemeral: every run is a fresh start)`)

  say(`starting PLC on :${ports.plc} and PDS on :${ports.pds} (node test/pds/network.mjs)`)
  let t = performance.now()
  const pds = await startPds()
  const pdsMs = performance.now() - t
  say(`PLC ${pds.plc}, PDS ${pds.pds} up in ${(pdsMs / 1000).toFixed(1)} s`)

  const accountPassword = `dev-${crypto.randomUUID()}`
  const agent = new AtpAgent({ service: pds.pds })
  const account = await agent.createAccount({ handle: HANDLE, password: accountPassword, email: `${HANDLE.split('.')[0]}@test.invalid` })
  const did = account.data.did
  const appPassword = (await agent.com.atproto.server.createAppPassword({ name: 'atcr-dev' })).data.password
  say(`account ${HANDLE} (${did}) with an app password`)

  const bun = process.execPath
  const holdDir = join(DEV_DIR, 'hold')
  const holdUrl = `http://localhost:${ports.hold}` // did:web over http resolves only for localhost
  t = performance.now()
  const hold = spawnChild('hold', [bun, join(ROOT, 'src', 'main.ts'), 'serve', '--role', 'hold'], {
    ...baseEnv(),
    HOLD_SERVER_ADDR: `127.0.0.1:${ports.hold}`,
    HOLD_SERVER_PUBLIC_URL: holdUrl,
    HOLD_SERVER_PUBLIC: 'true',
    HOLD_DATABASE_PATH: holdDir,
    HOLD_DATABASE_PLC_DIRECTORY_URL: pds.plc,
    HOLD_REGISTRATION_OWNER_DID: did,
    HOLD_REGISTRATION_ALLOW_ALL_CREW: 'true',
    ATCR_EXIT_WITH_PID: String(process.pid), // stops by itself if this script is SIGKILLed
  })
  await waitHealthy(hold, `http://127.0.0.1:${ports.hold}/xrpc/_health`, 60_000)
  const holdDid = (await (await fetch(`http://127.0.0.1:${ports.hold}/.well-known/atproto-did`)).text()).trim()
  if (!holdDid.startsWith('did:')) throw new Error(`hold answered no DID at /.well-known/atproto-did: ${holdDid.slice(0, 200)}`)
  const holdMs = performance.now() - t

  const registry = `127.0.0.1:${ports.appview}`
  const appviewUrl = `http://${registry}`
  t = performance.now()
  const appview = spawnChild('appview', [bun, join(ROOT, 'src', 'main.ts'), 'serve', '--role', 'appview'], {
    ...baseEnv(),
    APPVIEW_SERVER_ADDR: registry,
    APPVIEW_SERVER_BASE_URL: appviewUrl,
    APPVIEW_DATABASE_PATH: join(DEV_DIR, 'appview'),
    APPVIEW_DEFAULT_HOLD_DID: holdDid,
    APPVIEW_IDENTITY_PLC_URL: pds.plc,
    APPVIEW_IDENTITY_ALLOW_LOOPBACK: 'true',
    APPVIEW_IDENTITY_HANDLE_RESOLVER_URL: pds.pds,
    ATCR_EXIT_WITH_PID: String(process.pid),
  })
  await waitHealthy(appview, `${appviewUrl}/xrpc/_health`, 60_000)
  const appviewMs = performance.now() - t

  if (stopping) return
  const facts = {
    registry,
    handle: HANDLE,
    password: appPassword,
    did,
    accountPassword,
    appview: appviewUrl,
    pds: pds.pds,
    plc: pds.plc,
    hold: holdDid,
    holdUrl,
    dataDir: DEV_DIR,
    pid: process.pid,
    pids: { pds: pds.child.proc.pid, hold: hold.proc.pid, appview: appview.proc.pid },
    startupMs: Math.round(performance.now() - t0),
  }
  writeFileSync(STACK_JSON, JSON.stringify(facts, null, 2) + '\n', { mode: 0o600 })

  const ref = `${registry}/${HANDLE}/hello:1`
  const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`
  say(
    [
      '',
      bold(`atcr dev stack is up in ${secs(facts.startupMs)}`) + ` (PDS ${secs(pdsMs)}, hold ${secs(holdMs)}, AppView ${secs(appviewMs)})`,
      `  registry  ${registry}          AppView ${appviewUrl}   pid ${appview.proc.pid}`,
      `  hold      ${holdDid}   ${holdUrl}, fs storage in ${shown(holdDir)}   pid ${hold.proc.pid}`,
      `  PDS       ${pds.pds}   PLC ${pds.plc}   pid ${pds.child.proc.pid}`,
      `  account   ${HANDLE}   ${did}   app password ${appPassword}`,
      '',
      'Try it:',
      `  docker login ${registry} -u ${HANDLE} -p ${appPassword}`,
      `  docker tag alpine:latest ${ref} && docker push ${ref}      # any local image will do`,
      `  docker pull ${ref}`,
      `  skopeo copy --dest-creds ${HANDLE}:${appPassword} --dest-tls-verify=false docker://docker.io/library/alpine:latest docker://${ref}`,
      '',
      `The same facts as JSON: ${shown(STACK_JSON)}`,
      `The dev PDS is ephemeral: each run creates a fresh ${HANDLE} with a new app password (docker login again), and`,
      `${shown(join(DEV_DIR, 'hold'))} and ${shown(join(DEV_DIR, 'appview'))} are wiped at start. Ctrl-C stops everything.`,
      '',
    ].join('\n'),
  )
}

main().catch((err) => {
  if (stopping) return
  process.stderr.write(`${TAGS.dev} ${paint(31, 'error:')} ${err instanceof Error ? err.message : String(err)}\n`)
  void shutdown(1, 'start-up failed')
})
