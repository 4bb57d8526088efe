/**
 * A private Docker engine for tests: `dockerd` with vfs storage, no bridge and no iptables, everything (data root,
 * exec root, socket, CLI config, log) inside one temp dir. Started once per test process with Bun.spawn and stopped
 * by PID when the run ends (procs.ts): containers are removed first, then dockerd (which takes its managed containerd
 * with it) is killed and waited for, the default netns bind mount is unmounted and the temp dir deleted.
 *
 * Needs Debian's `docker.io` (dockerd + containerd + runc + the CLI) and root. Containers must use `--network=host`
 * (or `none`): there is no bridge. Builds use the legacy builder (`DOCKER_BUILDKIT=0`: no buildx plugin needed).
 */
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { killPid, onStop } from './procs.ts'

export type DockerResult = { code: number; stdout: string; stderr: string }

export type DockerOptions = {
  /** Data for the CLI's stdin (e.g. a tar stream for `docker import -`). */
  stdin?: string | Uint8Array | Blob | ReadableStream<Uint8Array>
  /** Kill the CLI after this long (default 120 s); the result then has code 124 and a note in stderr. */
  timeoutMs?: number
  /** Extra environment for the CLI. */
  env?: Record<string, string>
  /** Throw (with the output) when the exit code is not 0. */
  check?: boolean
}

export type Docker = (args: string[], opts?: DockerOptions) => Promise<DockerResult>

export type Dockerd = {
  /** The DOCKER_HOST value, unix://DIR/docker.sock. */
  host: string
  /** The temp dir holding everything. */
  dir: string
  pid: number
  /** Milliseconds from spawn to the first successful `docker version`. */
  startupMs: number
  /** Runs the docker CLI against this engine. */
  docker: Docker
}

const STARTUP_TIMEOUT_MS = 60_000

let started: Promise<Dockerd> | undefined

/** Starts the engine once per test process; later calls share it. A failed start is not cached. */
export function startDockerd(): Promise<Dockerd> {
  started ??= boot().catch((err) => {
    started = undefined
    throw err
  })
  return started
}

function cliEnv(dir: string, host: string, extra?: Record<string, string>): Record<string, string | undefined> {
  return {
    ...process.env,
    DOCKER_HOST: host,
    // A private CLI config: no credential helpers or contexts from the user's ~/.docker leak in.
    DOCKER_CONFIG: join(dir, 'cli'),
    DOCKER_CONTEXT: undefined,
    DOCKER_TLS_VERIFY: undefined,
    DOCKER_CERT_PATH: undefined,
    // The legacy builder: Debian's docker.io has no buildx plugin.
    DOCKER_BUILDKIT: '0',
    DOCKER_CLI_HINTS: 'false',
    ...extra,
  }
}

function makeDocker(dir: string, host: string): Docker {
  return async (args, opts = {}) => {
    const proc = Bun.spawn(['docker', ...args], {
      env: cliEnv(dir, host, opts.env),
      stdin: opts.stdin === undefined ? 'ignore' : typeof opts.stdin === 'string' ? new Blob([opts.stdin]) : opts.stdin,
      stdout: 'pipe',
      stderr: 'pipe',
    })
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      proc.kill('SIGKILL')
    }, opts.timeoutMs ?? 120_000)
    const [stdout, stderr, exit] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ])
    clearTimeout(timer)
    const result: DockerResult = {
      code: timedOut ? 124 : exit,
      stdout,
      stderr: timedOut ? `${stderr}\n(docker ${args[0]} killed after ${opts.timeoutMs ?? 120_000} ms)` : stderr,
    }
    if (opts.check && result.code !== 0) {
      throw new Error(`docker ${args.join(' ')} failed (exit ${result.code}):\n${tail(stdout)}\n${tail(stderr)}`)
    }
    return result
  }
}

function tail(text: string, lines = 30): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n')
}

/** Mount points at or below `dir`, deepest first (from /proc/self/mountinfo; octal escapes decoded). */
function mountsUnder(dir: string): string[] {
  let info = ''
  try {
    info = readFileSync('/proc/self/mountinfo', 'utf8')
  } catch {
    return []
  }
  const points = info
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => !!p)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(dir + '/'))
  return [...new Set(points)].sort((a, b) => b.length - a.length)
}

async function umount(path: string): Promise<void> {
  const proc = Bun.spawn(['umount', path], { stdin: 'ignore', stdout: 'ignore', stderr: 'pipe' })
  const [err, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited])
  if (code !== 0) {
    // Busy: detach it so the temp dir can still go.
    const lazy = Bun.spawn(['umount', '-l', path], { stdin: 'ignore', stdout: 'ignore', stderr: 'ignore' })
    if ((await lazy.exited) !== 0) console.error(`harness: umount ${path} failed: ${err.trim()}`)
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function boot(): Promise<Dockerd> {
  const t0 = performance.now()
  const dir = await mkdtemp(join(tmpdir(), 'atcr-dockerd-'))
  const host = `unix://${dir}/docker.sock`
  await mkdir(join(dir, 'cli'), { recursive: true })
  const docker = makeDocker(dir, host)

  const logPath = join(dir, 'dockerd.log')
  const fd = openSync(logPath, 'a')
  const env: Record<string, string | undefined> = { ...process.env, DOCKER_HOST: undefined }
  const proc = Bun.spawn(
    [
      'dockerd',
      '--storage-driver=vfs',
      '--iptables=false',
      '--ip6tables=false',
      '--bridge=none',
      `--data-root=${dir}/root`,
      `--exec-root=${dir}/exec`,
      `--pidfile=${dir}/dockerd.pid`,
      `--host=${host}`,
    ],
    { env, stdin: 'ignore', stdout: fd, stderr: fd },
  )
  closeSync(fd)
  const pid = proc.pid

  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    const t = performance.now()
    if (alive(pid)) {
      // Containers first, so no shim or container process outlives the engine.
      const ids = (await docker(['ps', '-aq'], { timeoutMs: 20_000 })).stdout.split(/\s+/).filter(Boolean)
      if (ids.length) await docker(['rm', '-f', ...ids], { timeoutMs: 60_000 })
    }
    // The managed containerd's PID, read before dockerd goes (dockerd normally stops it itself).
    const containerdPid = await readPid(join(dir, 'exec', 'containerd', 'containerd.pid'))
    await killPid(pid, 20_000)
    await Promise.race([proc.exited, Bun.sleep(5_000)])
    if (containerdPid && alive(containerdPid)) await killPid(containerdPid, 10_000)
    for (const m of mountsUnder(dir)) await umount(m)
    await rm(dir, { recursive: true, force: true })
    if (process.env.ATCR_TEST_VERBOSE) console.error(`harness: dockerd stopped in ${Math.round(performance.now() - t)} ms`)
  }
  onStop('dockerd', stop)

  const until = Date.now() + STARTUP_TIMEOUT_MS
  while (true) {
    if (proc.exitCode !== null) {
      const log = await readFile(logPath, 'utf8').catch(() => '')
      await stop()
      throw new Error(`harness: dockerd exited with ${proc.exitCode}:\n${tail(log)}`)
    }
    const v = await docker(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 10_000 })
    if (v.code === 0 && v.stdout.trim()) break
    if (Date.now() > until) {
      const log = await readFile(logPath, 'utf8').catch(() => '')
      await stop()
      throw new Error(`harness: dockerd did not answer within ${STARTUP_TIMEOUT_MS} ms:\n${v.stderr}\n${tail(log)}`)
    }
    await Bun.sleep(250)
  }
  const startupMs = Math.round(performance.now() - t0)
  if (process.env.ATCR_TEST_VERBOSE) console.error(`harness: dockerd ready on ${host} in ${startupMs} ms`)
  return { host, dir, pid, startupMs, docker }
}

async function readPid(path: string): Promise<number | undefined> {
  if (!existsSync(path)) return undefined
  const n = Number((await readFile(path, 'utf8').catch(() => '')).trim())
  return Number.isInteger(n) && n > 0 ? n : undefined
}
