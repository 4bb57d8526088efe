/**
 * atcr side by side with the CNCF reference registry (Debian `docker-registry`, distribution 2.8), one run,
 * printed figures (not pass/fail): skopeo push and pull of a 1 GiB image (wall time, MiB/s, server CPU seconds,
 * max RSS of the AppView, the hold and the reference sampled every 100 ms), the PATCH and PUT phases of one
 * layer-sized blob upload, manifest GET by tag and blob GET with wrk, manifest HEAD with hey (wrk 4.1 cannot HEAD).
 * The issue's targets are marked met/missed at the end. bench/README.md has the method and the caveats.
 * Run: bun bench/registry.ts   (needs docker-registry, skopeo, wrk, hey from Debian; scripts/setup.sh --test for the PDS)
 * Options by env: BENCH_IMAGE_MB (default 1024), BENCH_LAYERS (default 16), BENCH_SECONDS (default 10),
 * BENCH_CONNECTIONS (default 32), BENCH_THREADS (default 2), ATCR_TEST_VERBOSE=1 (server logs on stderr),
 * BENCH_WARM_GIB (default 16: memory touched once before timing, see below),
 * BENCH_PUSH_ROUNDS (default 2; each round pushes a new image to both, alternating which goes first; best round counts),
 * BENCH_S3=1 (the atcr hold stores blobs in radosgw instead of fs; the reference stays on fs),
 * BENCH_CPU_PROF=DIR (Bun CPU profiles of the AppView and the hold, written to DIR/appview and DIR/hold at exit).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { makeImage } from '../test/harness/oci-layout.ts'
import { freePort, killPid, onStop, stopAll, waitForHttp } from '../test/harness/procs.ts'
import { registryToken, startStack } from '../test/harness/stack.ts'
import { cpuSeconds, rss, sampleRss } from './proc-stats.ts'

const imageMb = Number(process.env.BENCH_IMAGE_MB ?? 1024)
const nLayers = Math.max(1, Number(process.env.BENCH_LAYERS ?? 16))
const seconds = Number(process.env.BENCH_SECONDS ?? 10)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32)
const threads = Number(process.env.BENCH_THREADS ?? 2)
const pushRounds = Math.max(1, Number(process.env.BENCH_PUSH_ROUNDS ?? 2))
const holdOnS3 = process.env.BENCH_S3 === '1'
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const MiB = 1024 * 1024

// ---------------------------------------------------------------- tools

interface WrkResult {
  rps: number
  p50: string
  p99: string
  p99ms: number
  /** Responses that are neither 2xx nor 3xx (wrk's count), and socket errors. */
  errors: number
}

/** Runs wrk against `url` with `headers`; `method` other than GET goes through a one-line Lua script. */
function wrk(url: string, opts: { method?: string; headers?: Record<string, string> } = {}): WrkResult {
  const args = ['wrk', `-t${threads}`, `-c${connections}`, `-d${seconds}s`, '--latency']
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push('-H', `${k}: ${v}`)
  if (opts.method && opts.method !== 'GET') {
    const script = join(work, `wrk-${opts.method}.lua`)
    writeFileSync(script, `wrk.method = "${opts.method}"\n`)
    args.push('-s', script)
  }
  args.push(url)
  const r = Bun.spawnSync(args)
  const out = r.stdout.toString()
  if (r.exitCode !== 0) throw new Error(`wrk failed: ${r.stderr.toString()}\n${out}`)
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1])
  const p50 = /^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? '?'
  const p99 = /^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? '?'
  const non2xx3xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0)
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  const sockErrs = sock ? sock.slice(1).reduce((a, n) => a + Number(n), 0) : 0
  return { rps, p50, p99, p99ms: toMs(p99), errors: non2xx3xx + sockErrs }
}

/**
 * The same figures from `hey` (Go), for HEAD: wrk 4.1's response parser does not know a HEAD response has no
 * body and waits for Content-Length bytes that never come (0 requests completed). hey costs more CPU per request
 * than wrk, which on a 2-core machine shows in both registries' figures alike.
 */
function hey(url: string, opts: { method?: string; headers?: Record<string, string> } = {}): WrkResult {
  const args = ['hey', '-z', `${seconds}s`, '-c', String(connections), '-m', opts.method ?? 'GET']
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push('-H', `${k}: ${v}`)
  args.push(url)
  const r = Bun.spawnSync(args)
  const out = r.stdout.toString()
  if (r.exitCode !== 0) throw new Error(`hey failed: ${r.stderr.toString()}\n${out}`)
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1])
  const secs = (q: string) => Number(new RegExp(`^\\s+${q}% in ([\\d.]+) secs`, 'm').exec(out)?.[1])
  const fmt = (s: number) => (s < 0.001 ? `${(s * 1e6).toFixed(0)}us` : `${(s * 1000).toFixed(2)}ms`)
  let bad = 0
  for (const m of out.matchAll(/\[(\d+)\]\s+(\d+) responses/g)) if (Number(m[1]) >= 400) bad += Number(m[2])
  const errSection = /Error distribution:\n([\s\S]*)$/.exec(out)?.[1] ?? ''
  for (const m of errSection.matchAll(/^\s+\[(\d+)\]/gm)) bad += Number(m[1])
  return { rps, p50: fmt(secs('50')), p99: fmt(secs('99')), p99ms: secs('99') * 1000, errors: bad }
}

/** wrk's latency strings (`812.00us`, `3.21ms`, `1.02s`) in milliseconds. */
function toMs(s: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(s)
  if (!m) return NaN
  return Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60000 }[m[2] as 'us' | 'ms' | 's' | 'm']
}

/** Runs skopeo; throws with its output on failure; returns the wall time and skopeo's own CPU time, in seconds. */
async function skopeo(args: string[]): Promise<{ s: number; cpu: number }> {
  const t0 = performance.now()
  const p = Bun.spawn(['skopeo', '--insecure-policy', 'copy', '--quiet', ...args], { stdout: 'pipe', stderr: 'pipe' })
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited])
  const s = (performance.now() - t0) / 1000
  if (code !== 0) throw new Error(`skopeo ${args.join(' ')} exited ${code}:\n${out}\n${err}`)
  const ru = p.resourceUsage()
  return { s, cpu: ru ? (Number(ru.cpuTime.user) + Number(ru.cpuTime.system)) / 1e6 : NaN }
}

const version = (cmd: string[]) => {
  const r = Bun.spawnSync(cmd)
  return (r.stdout.toString() + r.stderr.toString()).split('\n')[0]!.trim()
}

// ---------------------------------------------------------------- the reference registry

interface Reference {
  url: string
  host: string
  pid: number
}

/**
 * CNCF distribution 2.8 (`docker-registry serve`), filesystem storage in a temp dir, no auth, stopped by PID.
 * The in-memory blob descriptor cache is on, as in Debian's shipped /etc/docker/registry/config.yml; the access
 * log is off (atcr logs no line per request either).
 */
async function startReference(dir: string): Promise<Reference> {
  const port = freePort()
  const config = join(dir, 'config.yml')
  mkdirSync(join(dir, 'storage'), { recursive: true })
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  cache:',
      '    blobdescriptor: inmemory',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'storage')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  )
  let out = ''
  const p = Bun.spawn(['docker-registry', 'serve', config], { stdout: 'pipe', stderr: 'pipe' })
  const dec = new TextDecoder()
  for (const s of [p.stdout, p.stderr] as ReadableStream<Uint8Array>[]) {
    void (async () => {
      for await (const c of s) {
        const text = dec.decode(c)
        out += text
        if (process.env.ATCR_TEST_VERBOSE) process.stderr.write(`[reference] ${text}`)
      }
    })()
  }
  onStop(`docker-registry ${port}`, async () => {
    await killPid(p.pid)
    await p.exited
  })
  try {
    await waitForHttp(`http://127.0.0.1:${port}/v2/`, 30_000)
  } catch (err) {
    throw new Error(`docker-registry did not start: ${String(err)}\n${out}`)
  }
  return { url: `http://127.0.0.1:${port}`, host: `127.0.0.1:${port}`, pid: p.pid }
}

// ---------------------------------------------------------------- the run

const work = mkdtempSync(join(tmpdir(), 'atcr-bench-registry-'))
const rows: { name: string; atcr: string; ref: string; ratio: number | null; target?: string; met?: boolean; note?: string }[] = []
const fmtRatio = (r: number | null) => (r === null || !Number.isFinite(r) ? '-' : `${r.toFixed(2)}x`)

try {
  const layerBytes = Math.max(1, Math.round((imageMb * MiB) / nLayers))
  const cpuModel = cpus()[0]?.model ?? '?'
  console.log(
    `machine: ${navigator.hardwareConcurrency} cores (${cpuModel}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ` +
      `bun ${Bun.version}, ${version(['uname', '-sr'])}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
  )
  console.log(`tools: ${version(['docker-registry', '--version'])}; ${version(['skopeo', '--version'])}; ${version(['wrk', '-v'])}`)
  console.log(`work dir ${work} (image, both registries' storage and pull targets on the same disk)`)

  // On a VM whose host backs guest memory lazily, the first write to a never-touched page costs several
  // microseconds (16 GiB took 36 s of system time the first time, 17 s the second). A push writes 1 GiB into the
  // page cache, so without this, whichever registry first meets fresh memory pays for it.
  const warmGiB = Math.min(Number(process.env.BENCH_WARM_GIB ?? 16), Math.floor(freemem() / 2 ** 30) - 2)
  if (warmGiB > 0) {
    const t0 = performance.now()
    // Held together, so the kernel hands out distinct pages rather than the same GiB again.
    let held: Uint8Array[] = []
    for (let i = 0; i < warmGiB; i++) held.push(new Uint8Array(2 ** 30).fill(1))
    held = []
    Bun.gc(true)
    console.log(`memory warm-up: touched ${warmGiB} GiB once in ${((performance.now() - t0) / 1000).toFixed(1)} s (BENCH_WARM_GIB=0 skips it)`)
  }

  // The image: random bytes (incompressible), gzip'd tar layers, built offline.
  let t = performance.now()
  const image = makeImage(join(work, 'image'), { layers: nLayers, layerBytes })
  const imageMiB = image.totalBytes / MiB
  console.log(`image: ${nLayers} layers x ${(layerBytes / MiB).toFixed(1)} MiB random = ${imageMiB.toFixed(1)} MiB on disk, built in ${((performance.now() - t) / 1000).toFixed(1)} s`)

  t = performance.now()
  const ref = await startReference(join(work, 'reference'))
  // BENCH_CPU_PROF=DIR: the AppView and the hold write Bun CPU profiles (.cpuprofile and .md) there on exit.
  const prof = process.env.BENCH_CPU_PROF
  const profEnv = (role: string): Record<string, string> =>
    prof ? { BUN_OPTIONS: `--cpu-prof --cpu-prof-md --cpu-prof-dir=${join(prof, role)} --cpu-prof-name=${role}` } : {}
  const stack = await startStack({ appviewEnv: profEnv('appview'), holdEnv: profEnv('hold'), s3: holdOnS3, s3MemstoreBytes: 8 * 2 ** 30 })
  if (prof) console.log(`CPU profiles to ${prof}/appview and ${prof}/hold (the profiler slows the servers and inflates their RSS)`)
  console.log(`started: reference ${ref.url}, atcr AppView ${stack.appview.url} + hold ${stack.hold.url} (${holdOnS3 ? 'S3: radosgw, whose own CPU is not counted' : 'fs'}) + PLC/PDS, in ${((performance.now() - t) / 1000).toFixed(1)} s`)

  const alice = stack.alice
  const refName = 'bench/big'
  const atcrName = `${alice.handle}/big`
  const refImage = `${ref.host}/${refName}:1`
  const atcrImage = `${stack.registry}/${atcrName}:1`
  const creds = `${alice.handle}:${alice.appPw}`
  const pids = { appview: stack.appview.pid(), hold: stack.hold.pid(), reference: ref.pid }
  console.log(`atcr image ${atcrImage}; reference image ${refImage}`)
  console.log(
    `idle RSS: AppView ${(rss(pids.appview) / MiB).toFixed(0)} MiB, hold ${(rss(pids.hold) / MiB).toFixed(0)} MiB, reference ${(rss(pids.reference) / MiB).toFixed(0)} MiB`,
  )

  // ---- push, with RSS sampled throughout each push
  // CPU seconds each server process spends in a phase (skopeo's own is reported apart).
  const cpuNow = () => Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)])) as Record<keyof typeof pids, number>
  const cpuSince = (c0: ReturnType<typeof cpuNow>) => {
    const c1 = cpuNow()
    return Object.fromEntries(Object.keys(c0).map((k) => [k, c1[k as keyof typeof c1] - c0[k as keyof typeof c0]])) as typeof c0
  }
  const push = async (dest: string, extra: string[], img: typeof image) => {
    Bun.spawnSync(['sync']) // the previous phase's dirty pages are not this one's cost
    const stop = sampleRss(pids)
    const c0 = cpuNow()
    const { s, cpu } = await skopeo(['--dest-tls-verify=false', ...extra, `oci:${img.dir}:${img.tag}`, `docker://${dest}`])
    return { s, mibs: img.totalBytes / MiB / s, rss: stop(), cpu: cpuSince(c0), clientCpu: cpu }
  }
  // A user logs in once (`docker login`) and then pushes: the first login is timed on its own (the PDS checks the
  // app password and the AppView loads its PDS client), so the push figure is the steady-state data path.
  t = performance.now()
  await registryToken(stack, alice, `repository:${atcrName}:push,pull`)
  console.log(`first login to atcr (token endpoint, Basic auth checked with the PDS): ${(performance.now() - t).toFixed(0)} ms, not part of the push time`)
  // Rounds of one push to each registry, alternating which goes first; every round pushes its own image (new
  // random layers, so nothing is already stored). The table takes each registry's best round: on a shared VM the
  // first write to never-touched memory is slow, and which registry meets it is luck of the order.
  type Push = Awaited<ReturnType<typeof push>>
  const refPushes: Push[] = []
  const atcrPushes: Push[] = []
  for (let round = 0; round < pushRounds; round++) {
    const img = round === 0 ? image : makeImage(join(work, `image-${round}`), { layers: nLayers, layerBytes, seed: `round-${round}` })
    const suffix = round === 0 ? '' : `-r${round}`
    const pushRef = async () => refPushes.push(await push(`${ref.host}/${refName}${suffix}:1`, [], img))
    const pushAtcr = async () => atcrPushes.push(await push(`${stack.registry}/${atcrName}${suffix}:1`, ['--dest-creds', creds], img))
    if (round % 2 === 0) {
      await pushRef()
      await pushAtcr()
    } else {
      await pushAtcr()
      await pushRef()
    }
    const [r, a] = [refPushes.at(-1)!, atcrPushes.at(-1)!]
    console.log(
      `push round ${round + 1}/${pushRounds} (${round % 2 === 0 ? 'reference first' : 'atcr first'}): reference ${r.mibs.toFixed(0)} MiB/s ` +
        `(CPU ${r.cpu.reference.toFixed(1)} s), atcr ${a.mibs.toFixed(0)} MiB/s (CPU AppView ${a.cpu.appview.toFixed(1)} s + hold ${a.cpu.hold.toFixed(1)} s), ` +
        `${(a.mibs / r.mibs).toFixed(2)}x; max RSS AppView ${(a.rss.appview! / 1e6).toFixed(0)} MB`,
    )
    if (round > 0) rmSync(img.dir, { recursive: true, force: true })
  }
  const best = (xs: Push[]) => xs.reduce((b, x) => (x.mibs > b.mibs ? x : b))
  const refPush = best(refPushes)
  const atcrPush = best(atcrPushes)
  // Memory is judged on the worst round, not the best.
  const maxRss = (xs: Push[], k: keyof Push['rss']) => Math.max(...xs.map((x) => x.rss[k] ?? 0))
  const cpuLine = (x: typeof refPush, atcr: boolean) =>
    atcr
      ? `CPU AppView ${x.cpu.appview.toFixed(1)} s + hold ${x.cpu.hold.toFixed(1)} s, skopeo ${x.clientCpu.toFixed(1)} s`
      : `CPU ${x.cpu.reference.toFixed(1)} s, skopeo ${x.clientCpu.toFixed(1)} s`
  console.log(`push: reference ${refPush.s.toFixed(1)} s (${refPush.mibs.toFixed(0)} MiB/s; ${cpuLine(refPush, false)}), atcr ${atcrPush.s.toFixed(1)} s (${atcrPush.mibs.toFixed(0)} MiB/s; ${cpuLine(atcrPush, true)})`)

  // ---- pull (fresh destination each time; atcr blobs are 307 redirects to the hold's signed URLs)
  let pullN = 0
  const pull = async (src: string, extra: string[]) => {
    const out = join(work, `pull-${++pullN}`)
    Bun.spawnSync(['sync'])
    const stop = sampleRss(pids)
    const c0 = cpuNow()
    const { s, cpu } = await skopeo(['--src-tls-verify=false', ...extra, `docker://${src}`, `oci:${out}:latest`])
    const r = { s, mibs: imageMiB / s, rss: stop(), cpu: cpuSince(c0), clientCpu: cpu }
    rmSync(out, { recursive: true, force: true })
    return r
  }
  const refPull = await pull(refImage, [])
  const atcrPull = await pull(atcrImage, ['--src-creds', creds])
  console.log(`pull: reference ${refPull.s.toFixed(1)} s (${refPull.mibs.toFixed(0)} MiB/s; ${cpuLine(refPull, false)}), atcr ${atcrPull.s.toFixed(1)} s (${atcrPull.mibs.toFixed(0)} MiB/s; ${cpuLine(atcrPull, true)})`)

  // ---- where a blob upload's time goes: one layer-sized blob through the raw API (POST, one streamed PATCH,
  // PUT ?digest= with no body), as skopeo and docker send it; median of 3 per registry.
  const phases = async (base: string, repo: string, auth: Record<string, string>) => {
    const blob = new Uint8Array(layerBytes)
    const runs: { patch: number; put: number }[] = []
    for (let i = 0; i < 3; i++) {
      for (let o = 0; o < blob.length; o += 65536) crypto.getRandomValues(blob.subarray(o, Math.min(o + 65536, blob.length)))
      const digest = `sha256:${new Bun.CryptoHasher('sha256').update(blob).digest('hex')}`
      const post = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: auth })
      if (post.status !== 202) throw new Error(`POST upload: ${post.status} ${await post.text()}`)
      const t0 = performance.now()
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          for (let o = 0; o < blob.length; o += MiB) c.enqueue(blob.subarray(o, Math.min(o + MiB, blob.length)))
          c.close()
        },
      })
      const patch = await fetch(new URL(post.headers.get('location')!, base), { method: 'PATCH', headers: { ...auth, 'content-type': 'application/octet-stream' }, body })
      if (patch.status !== 202) throw new Error(`PATCH upload: ${patch.status} ${await patch.text()}`)
      const t1 = performance.now()
      const done = new URL(patch.headers.get('location')!, base)
      done.searchParams.set('digest', digest)
      const put = await fetch(done, { method: 'PUT', headers: auth })
      if (put.status !== 201) throw new Error(`PUT upload: ${put.status} ${await put.text()}`)
      runs.push({ patch: t1 - t0, put: performance.now() - t1 })
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
    return { patch: median(runs.map((r) => r.patch)), put: median(runs.map((r) => r.put)) }
  }
  const refPh = await phases(ref.url, 'bench/phases', {})
  const atcrPhName = `${alice.handle}/phases`
  const atcrPh = await phases(stack.appview.url, atcrPhName, { authorization: `Bearer ${await registryToken(stack, alice, `repository:${atcrPhName}:pull,push`)}` })
  const layerMiB = layerBytes / MiB
  console.log(
    `one ${layerMiB.toFixed(0)} MiB blob upload: reference PATCH ${refPh.patch.toFixed(0)} ms (${(layerMiB / (refPh.patch / 1000)).toFixed(0)} MiB/s) + PUT ${refPh.put.toFixed(0)} ms; ` +
      `atcr PATCH ${atcrPh.patch.toFixed(0)} ms (${(layerMiB / (atcrPh.patch / 1000)).toFixed(0)} MiB/s) + PUT ${atcrPh.put.toFixed(0)} ms (completeUpload in the hold)`,
  )

  rows.push({ name: `push ${imageMiB.toFixed(0)} MiB (MiB/s, best of ${pushRounds})`, atcr: atcrPush.mibs.toFixed(1), ref: refPush.mibs.toFixed(1), ratio: atcrPush.mibs / refPush.mibs, target: '>= 0.9x', met: atcrPush.mibs / refPush.mibs >= 0.9 })
  rows.push({ name: '  push wall time (s)', atcr: atcrPush.s.toFixed(1), ref: refPush.s.toFixed(1), ratio: atcrPush.s / refPush.s })
  const serverCpu = (x: typeof refPush, atcr: boolean) => (atcr ? x.cpu.appview + x.cpu.hold : x.cpu.reference)
  rows.push({ name: '  push server CPU (s)', atcr: serverCpu(atcrPush, true).toFixed(1), ref: serverCpu(refPush, false).toFixed(1), ratio: serverCpu(atcrPush, true) / serverCpu(refPush, false), note: `atcr: AppView ${atcrPush.cpu.appview.toFixed(1)} + hold ${atcrPush.cpu.hold.toFixed(1)}` })
  rows.push({ name: `  ${layerMiB.toFixed(0)} MiB blob: PATCH stream (ms)`, atcr: atcrPh.patch.toFixed(0), ref: refPh.patch.toFixed(0), ratio: atcrPh.patch / refPh.patch })
  rows.push({ name: `  ${layerMiB.toFixed(0)} MiB blob: PUT ?digest= (ms)`, atcr: atcrPh.put.toFixed(0), ref: refPh.put.toFixed(0), ratio: atcrPh.put / refPh.put, note: 'atcr: hold completeUpload' })
  rows.push({ name: `pull ${imageMiB.toFixed(0)} MiB (MiB/s)`, atcr: atcrPull.mibs.toFixed(1), ref: refPull.mibs.toFixed(1), ratio: atcrPull.mibs / refPull.mibs, target: '>= 0.9x', met: atcrPull.mibs / refPull.mibs >= 0.9 })
  rows.push({ name: '  pull wall time (s)', atcr: atcrPull.s.toFixed(1), ref: refPull.s.toFixed(1), ratio: atcrPull.s / refPull.s })
  rows.push({ name: '  pull server CPU (s)', atcr: serverCpu(atcrPull, true).toFixed(1), ref: serverCpu(refPull, false).toFixed(1), ratio: serverCpu(atcrPull, true) / serverCpu(refPull, false), note: `atcr: AppView ${atcrPull.cpu.appview.toFixed(1)} + hold ${atcrPull.cpu.hold.toFixed(1)}` })
  const avMax = maxRss(atcrPushes, 'appview')
  const refMaxRss = maxRss(refPushes, 'reference')
  rows.push({
    name: `max RSS during push (MB, ${pushRounds} rounds)`,
    atcr: `${(avMax / 1e6).toFixed(0)} AppView`,
    ref: (refMaxRss / 1e6).toFixed(0),
    ratio: avMax / refMaxRss,
    target: 'AppView < 150 MB',
    met: avMax < 150e6,
  })
  rows.push({ name: '  hold max RSS, push (MB)', atcr: (maxRss(atcrPushes, 'hold') / 1e6).toFixed(0), ref: '-', ratio: null })
  rows.push({
    name: '  max RSS during pull (MB)',
    atcr: `${(atcrPull.rss.appview! / 1e6).toFixed(0)} AV / ${(atcrPull.rss.hold! / 1e6).toFixed(0)} hold`,
    ref: (refPull.rss.reference! / 1e6).toFixed(0),
    ratio: null,
  })

  // ---- manifest HEAD/GET by tag, warm caches
  const accept = { accept: OCI_MANIFEST }
  const atcrManifestUrl = `${stack.appview.url}/v2/${atcrName}/manifests/1`
  const refManifestUrl = `${ref.url}/v2/${refName}/manifests/1`
  const pullToken = () => registryToken(stack, alice, `repository:${atcrName}:pull`)
  const warm = async (url: string, headers: Record<string, string>, method = 'GET') => {
    for (let i = 0; i < 5; i++) {
      const res = await fetch(url, { method, headers, redirect: 'manual' })
      await res.arrayBuffer()
      if (res.status >= 400) throw new Error(`${method} ${url}: ${res.status}`)
    }
  }
  const side = async (name: string, method: string, atcrUrl: string, refUrl: string, target?: number) => {
    const load = method === 'HEAD' ? hey : wrk
    // A fresh token per run: registry tokens live 5 minutes.
    const atcrHeaders = { ...accept, authorization: `Bearer ${await pullToken()}` }
    await warm(atcrUrl, atcrHeaders, method)
    await warm(refUrl, accept, method)
    const a = load(atcrUrl, { method, headers: atcrHeaders })
    const r = load(refUrl, { method, headers: accept })
    const err = (x: WrkResult) => (x.errors ? ` (${x.errors} errors)` : '')
    console.log(`${name}: atcr ${a.rps.toFixed(0)} req/s p99 ${a.p99}${err(a)}; reference ${r.rps.toFixed(0)} req/s p99 ${r.p99}${err(r)}`)
    rows.push({
      name: `${name} (req/s)`,
      atcr: `${a.rps.toFixed(0)}${a.errors ? '*' : ''}`,
      ref: `${r.rps.toFixed(0)}${r.errors ? '*' : ''}`,
      ratio: a.rps / r.rps,
      ...(target ? { target: `>= ${target}x`, met: a.rps / r.rps >= target && a.errors === 0 } : {}),
    })
    rows.push({ name: `  ${name} p99 (ms)`, atcr: a.p99ms.toFixed(2), ref: r.p99ms.toFixed(2), ratio: a.p99ms / r.p99ms, note: `p50 ${a.p50} / ${r.p50}` })
    return { a, r }
  }
  await side('manifest HEAD by tag [hey]', 'HEAD', atcrManifestUrl, refManifestUrl, 1.5)
  await side('manifest GET by tag', 'GET', atcrManifestUrl, refManifestUrl, 1.5)

  // ---- blob GET: atcr answers 307 to the hold (no bytes); the reference serves the bytes of a small blob
  const manifest = JSON.parse(readFileSync(join(image.dir, 'blobs', 'sha256', image.manifestDigest.slice(7)), 'utf8'))
  const small = manifest.config as { digest: string; size: number }
  console.log(`blob GET of the ${small.size} B config blob: atcr answers 307 to the hold (no bytes), the reference serves the bytes`)
  const blobs = await side(
    'blob GET small (307 | bytes)',
    'GET',
    `${stack.appview.url}/v2/${atcrName}/blobs/${small.digest}`,
    `${ref.url}/v2/${refName}/blobs/${small.digest}`,
  )
  // For a fuller picture: the second hop of an atcr blob GET, the hold serving the bytes at its signed URL.
  const redirect = await fetch(`${stack.appview.url}/v2/${atcrName}/blobs/${small.digest}`, {
    headers: { authorization: `Bearer ${await pullToken()}` },
    redirect: 'manual',
  })
  const location = redirect.headers.get('location')
  if (redirect.status === 307 && location) {
    await warm(location, {})
    const h = wrk(location)
    console.log(`hold signed URL GET ${small.size} B (serves bytes): ${h.rps.toFixed(0)} req/s p99 ${h.p99}${h.errors ? ` (${h.errors} errors)` : ''}`)
    rows.push({ name: '  hold signed URL GET, bytes (req/s)', atcr: `${h.rps.toFixed(0)}${h.errors ? '*' : ''}`, ref: blobs.r.rps.toFixed(0), ratio: h.rps / blobs.r.rps, note: 'atcr 2nd hop vs ref blob GET' })
  }
  const after = { appview: rss(pids.appview), hold: rss(pids.hold), reference: rss(pids.reference) }
  console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (other work on the machine skews every figure)`)
  console.log(`RSS after the run: AppView ${(after.appview / MiB).toFixed(0)} MiB, hold ${(after.hold / MiB).toFixed(0)} MiB, reference ${(after.reference / MiB).toFixed(0)} MiB`)

  // ---- the table
  console.log('')
  console.log(`wrk -t${threads} -c${connections} -d${seconds}s (HEAD: hey -c${connections} -z${seconds}s, wrk cannot HEAD); Accept: ${OCI_MANIFEST}; atcr with a bearer pull token; * = errors counted`)
  console.log('ratio = atcr / reference (higher is better for MiB/s and req/s, lower for times, CPU and memory)')
  const cols = [40, 22, 10, 8, 18, 6]
  const line = (c: string[]) => console.log(c.map((s, i) => (i === 0 || i === 4 ? s.padEnd(cols[i]!) : s.padStart(cols[i]!))).join('  ').trimEnd())
  line(['figure', 'atcr', 'reference', 'ratio', 'target', 'met'])
  line(cols.map((w) => '-'.repeat(w)))
  for (const r of rows) {
    line([r.name, r.atcr, r.ref, fmtRatio(r.ratio), r.target ?? '', r.met === undefined ? '' : r.met ? 'met' : 'MISSED'])
    if (r.note) console.log(`${''.padEnd(cols[0]! + 2)}(${r.note})`)
  }
  const targets = rows.filter((r) => r.met !== undefined)
  console.log(`\ntargets: ${targets.filter((r) => r.met).length}/${targets.length} met${targets.some((r) => !r.met) ? ` — missed: ${targets.filter((r) => !r.met).map((r) => r.name.trim()).join('; ')}` : ''}`)
} finally {
  await stopAll()
  rmSync(work, { recursive: true, force: true })
}
