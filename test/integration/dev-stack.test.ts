/**
 * `bun run dev` (scripts/dev.ts): the whole local registry as child processes of one script. Started here on free
 * ports with its state in a temp dir; a stock client (skopeo) pushes and pulls with the credentials the script
 * wrote to stack.json; SIGINT must stop every child it started, and the death of any child must stop the rest.
 */
import { describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { makeImage } from '../harness/oci-layout.ts'
import { freePort, isAlive, killPid, onStop } from '../harness/procs.ts'

const ROOT = resolve(import.meta.dir, '..', '..')

type StackJson = {
  registry: string
  handle: string
  password: string
  did: string
  pds: string
  plc: string
  hold: string
  pid: number
  pids: { pds: number; hold: number; appview: number }
}

const alive = isAlive

function distinctPorts(n: number): number[] {
  const ports = new Set<number>()
  while (ports.size < n) ports.add(freePort())
  return [...ports]
}

/** `bun scripts/dev.ts` on free ports with DEV_DIR in a temp dir; stopped (with its children) by PID at the end. */
function startDev(extraEnv: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'atcr-dev-'))
  const [plc, pds, hold, appview] = distinctPorts(4)
  const proc = Bun.spawn(['bun', join(ROOT, 'scripts', 'dev.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      NO_COLOR: '1',
      DEV_DIR: dir,
      DEV_PLC_PORT: String(plc),
      DEV_PDS_PORT: String(pds),
      DEV_HOLD_PORT: String(hold),
      DEV_APPVIEW_PORT: String(appview),
      ...extraEnv,
    },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  let out = ''
  const dec = new TextDecoder()
  const collect = async (s: ReadableStream<Uint8Array>) => {
    for await (const c of s) {
      const text = dec.decode(c, { stream: true })
      out += text
      if (process.env.ATCR_TEST_VERBOSE) process.stderr.write(text)
    }
  }
  const drained = Promise.all([collect(proc.stdout), collect(proc.stderr)]).catch(() => {})
  let childPids: number[] = []
  onStop(`dev.ts (pid ${proc.pid})`, async () => {
    await killPid(proc.pid, 15_000)
    for (const pid of childPids) await killPid(pid)
    rmSync(dir, { recursive: true, force: true })
  })
  const stackFile = join(dir, 'stack.json')
  return {
    proc,
    dir,
    ports: { plc, pds, hold, appview },
    out: () => out,
    drained,
    /** Waits for stack.json (the stack is healthy once it exists). */
    async ready(timeoutMs = 150_000): Promise<StackJson> {
      const until = Date.now() + timeoutMs
      while (Date.now() < until) {
        if (existsSync(stackFile)) {
          try {
            const s = JSON.parse(readFileSync(stackFile, 'utf8')) as StackJson
            childPids = Object.values(s.pids)
            return s
          } catch {} // half written: try again
        }
        if (proc.exitCode !== null) throw new Error(`dev.ts exited ${proc.exitCode} before writing stack.json:\n${out}`)
        await Bun.sleep(200)
      }
      throw new Error(`no stack.json after ${timeoutMs} ms:\n${out}`)
    },
  }
}

async function run(cmd: string[], timeoutMs = 120_000): Promise<string> {
  const p = Bun.spawn(cmd, { stdout: 'pipe', stderr: 'pipe', timeout: timeoutMs })
  const [so, se, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited])
  if (code !== 0) throw new Error(`${cmd.join(' ')} exited ${code}:\n${so}\n${se}`)
  return so
}

async function waitGone(pids: number[], timeoutMs: number): Promise<number[]> {
  const until = Date.now() + timeoutMs
  let left = pids.filter(alive)
  while (left.length && Date.now() < until) {
    await Bun.sleep(100)
    left = left.filter(alive)
  }
  return left
}

describe('bun run dev (scripts/dev.ts)', () => {
  test('a busy port stops it before anything starts, naming the port and the variable', async () => {
    const blocker = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
    try {
      const dev = startDev({ DEV_HOLD_PORT: String(blocker.port) })
      const code = await Promise.race([dev.proc.exited, Bun.sleep(20_000).then(() => 'timeout' as const)])
      await dev.drained
      expect(code).toBe(1)
      expect(dev.out()).toContain(`hold port ${blocker.port}: in use`)
      expect(dev.out()).toContain('DEV_HOLD_PORT')
      expect(dev.out()).not.toContain('[pds]')
    } finally {
      blocker.stop(true)
    }
  }, 30_000)

  test('starts PDS, hold and AppView; skopeo pushes and pulls; SIGINT stops every child', async () => {
    const t0 = performance.now()
    const dev = startDev()
    const s = await dev.ready()
    const upMs = Math.round(performance.now() - t0)

    expect(s.registry).toBe(`127.0.0.1:${dev.ports.appview}`)
    expect(s.handle).toBe('alice.test')
    expect(s.did).toMatch(/^did:plc:/)
    expect(s.hold).toBe(`did:web:localhost%3A${dev.ports.hold}`)
    expect(s.pds).toBe(`http://localhost:${dev.ports.pds}`)
    expect(s.plc).toBe(`http://localhost:${dev.ports.plc}`)
    expect(s.pid).toBe(dev.proc.pid)
    const pids = Object.values(s.pids)
    expect(pids).toHaveLength(3)
    for (const pid of pids) expect(alive(pid)).toBe(true)

    // The printed instructions carry the same credentials, and every child's output is prefixed.
    const out = dev.out()
    expect(out).toContain(`docker login ${s.registry} -u alice.test -p ${s.password}`)
    expect(out).toContain(`docker push ${s.registry}/alice.test/hello:1`)
    expect(out).toContain(`skopeo copy --dest-creds alice.test:${s.password} --dest-tls-verify=false`)
    expect(out).toContain('wiped')
    for (const tag of ['[hold]', '[appview]', '[dev]']) expect(out).toContain(tag) // the PDS is quiet unless LOG_ENABLED=true

    // Push with skopeo, then pull back with credentials and anonymously (the dev hold is public).
    const work = mkdtempSync(join(tmpdir(), 'atcr-dev-img-'))
    try {
      const img = makeImage(join(work, 'src'), { tag: 'v1', layers: 2, layerBytes: 8192 })
      const ref = `docker://${s.registry}/alice.test/hello:1`
      const tp = performance.now()
      await run(['skopeo', 'copy', '--dest-creds', `alice.test:${s.password}`, '--dest-tls-verify=false', `oci:${img.dir}:v1`, ref])
      const pushMs = Math.round(performance.now() - tp)
      await run(['skopeo', 'copy', '--src-creds', `alice.test:${s.password}`, '--src-tls-verify=false', ref, `oci:${join(work, 'back')}:v1`])
      const back = JSON.parse(readFileSync(join(work, 'back', 'index.json'), 'utf8')) as { manifests: { digest: string }[] }
      expect(back.manifests[0]!.digest).toBe(img.manifestDigest)
      for (const d of img.layerDigests) {
        const hex = d.slice('sha256:'.length)
        expect(readFileSync(join(work, 'back', 'blobs', 'sha256', hex))).toEqual(readFileSync(join(img.dir, 'blobs', 'sha256', hex)))
      }
      const anon = JSON.parse(await run(['skopeo', 'inspect', '--raw', '--tls-verify=false', ref])) as { layers: { digest: string }[] }
      expect(anon.layers.map((l) => l.digest)).toEqual(img.layerDigests)
      console.log(`dev stack: stack.json after ${upMs} ms; skopeo push of ${img.totalBytes} bytes in ${pushMs} ms`)
    } finally {
      rmSync(work, { recursive: true, force: true })
    }

    // Ctrl-C: dev.ts and every child it started are gone within 15 s, with a clean exit.
    const ts = performance.now()
    process.kill(dev.proc.pid, 'SIGINT')
    const left = await waitGone([dev.proc.pid, ...pids], 15_000)
    expect(left).toEqual([])
    expect(await dev.proc.exited).toBe(0)
    await dev.drained
    console.log(`dev stack: stopped in ${Math.round(performance.now() - ts)} ms`)
    expect(existsSync(join(dev.dir, 'stack.json'))).toBe(false)
    expect(dev.out()).toContain('SIGINT')
  }, 240_000)

  test('when a child dies, everything stops and dev.ts exits non-zero', async () => {
    const dev = startDev()
    const s = await dev.ready()
    const tk = performance.now()
    process.kill(s.pids.hold, 'SIGKILL')
    const left = await waitGone([dev.proc.pid, s.pids.pds, s.pids.appview, s.pids.hold], 15_000)
    console.log(`dev stack: everything stopped ${Math.round(performance.now() - tk)} ms after the hold was killed`)
    expect(left).toEqual([])
    expect(await dev.proc.exited).toBe(1)
    await dev.drained
    expect(dev.out()).toContain(`hold (pid ${s.pids.hold}) exited unexpectedly (signal SIGKILL)`)
  }, 240_000)

  test('when dev.ts itself is SIGKILLed, its children notice and stop (no server is left on its port)', async () => {
    const dev = startDev()
    const s = await dev.ready()
    const tk = performance.now()
    process.kill(dev.proc.pid, 'SIGKILL')
    // The PDS sees its stdin close; the hold and the AppView poll ATCR_EXIT_WITH_PID once a second.
    const left = await waitGone([s.pids.pds, s.pids.appview, s.pids.hold], 15_000)
    console.log(`dev stack: children stopped ${Math.round(performance.now() - tk)} ms after dev.ts was killed`)
    expect(left).toEqual([])
  }, 240_000)
})
