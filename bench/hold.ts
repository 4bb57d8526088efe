/**
 * Hold benchmarks (figures, not pass/fail): requests/s and p50/p99 of `_health` and of `getBlob` redirects
 * (wrk, from Debian), and blob upload throughput through `uploadPart` and through fs signed part URLs.
 * Run: bun bench/hold.ts   (needs wrk: apt-get install wrk; and scripts/setup.sh --test for the PDS)
 * Options by env: BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 32), BENCH_UPLOAD_MB (default 512),
 * BENCH_PART_MB (default 16; the AppView sends 5 MiB parts), BENCH_CPU_PROF=DIR (the hold writes a Bun CPU profile there
 * on exit; the profiler slows it down).
 */
import { startHold, xrpc } from '../test/harness/hold.ts'
import { startPds } from '../test/harness/pds.ts'
import { stopAll } from '../test/harness/procs.ts'
import { cpuSeconds } from './proc-stats.ts'

const seconds = Number(process.env.BENCH_SECONDS ?? 10)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32)
const uploadMb = Number(process.env.BENCH_UPLOAD_MB ?? 512)
const PART = Math.round(Number(process.env.BENCH_PART_MB ?? 16) * 1024 * 1024)

function wrk(url: string): { rps: number; p50: string; p99: string; non2xx3xx: number } {
  const r = Bun.spawnSync(['wrk', '-t2', `-c${connections}`, `-d${seconds}s`, '--latency', url])
  const out = r.stdout.toString()
  if (r.exitCode !== 0) throw new Error(`wrk failed: ${r.stderr.toString()}`)
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1])
  const p50 = /^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? '?'
  const p99 = /^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? '?'
  const non2xx3xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0)
  return { rps, p50, p99, non2xx3xx }
}

const report = (name: string, r: ReturnType<typeof wrk>) =>
  console.log(`${name.padEnd(28)} ${r.rps.toFixed(0).padStart(8)} req/s   p50 ${r.p50.padStart(8)}   p99 ${r.p99.padStart(8)}${r.non2xx3xx ? `   (${r.non2xx3xx} errors)` : ''}`)

const prof: Record<string, string> = process.env.BENCH_CPU_PROF
  ? { BUN_OPTIONS: `--cpu-prof --cpu-prof-md --cpu-prof-dir=${process.env.BENCH_CPU_PROF} --cpu-prof-name=hold` }
  : {}

try {
  const pds = await startPds()
  const user = await pds.createUser('bench')
  const hold = await startHold({ HOLD_REGISTRATION_OWNER_DID: user.did, HOLD_DATABASE_PLC_DIRECTORY_URL: pds.plcUrl, HOLD_SERVER_PUBLIC: 'true', ...prof })
  const tok = (lxm: string) => user.serviceToken(hold.did, lxm, 3600)
  console.log(`hold ${hold.url} (fs driver), parts of ${(PART / 1024 / 1024).toFixed(1)} MiB, wrk ${connections} connections x ${seconds}s, ${navigator.hardwareConcurrency} cores`)

  // Upload throughput: one blob of uploadMb in PART-sized parts, bytes through the hold (uploadPart).
  const part = crypto.getRandomValues(new Uint8Array(65536))
  const chunk = new Uint8Array(PART)
  for (let i = 0; i < PART; i += part.length) chunk.set(part, i)
  const nParts = Math.max(1, Math.round((uploadMb * 1024 * 1024) / PART))
  const hasher = new Bun.CryptoHasher('sha256')
  for (let i = 0; i < nParts; i++) hasher.update(chunk)
  const digest = `sha256:${hasher.digest('hex')}`

  for (const mode of ['uploadPart', 'signed part URL'] as const) {
    const init = await xrpc(hold.url, 'io.atcr.hold.initiateUpload', { token: await tok('io.atcr.hold.initiateUpload'), body: { digest } })
    const cpu0 = cpuSeconds(hold.pid())
    const t0 = performance.now()
    const parts: { partNumber: number; etag: string }[] = []
    const partTok = await tok(mode === 'uploadPart' ? 'io.atcr.hold.uploadPart' : 'io.atcr.hold.getPartUploadUrl')
    for (let n = 1; n <= nParts; n++) {
      if (mode === 'uploadPart') {
        const r = await xrpc(hold.url, 'io.atcr.hold.uploadPart', { method: 'PUT', token: partTok, params: { uploadId: init.body.uploadId, partNumber: n }, raw: chunk })
        parts.push({ partNumber: n, etag: r.body.etag })
      } else {
        const u = await xrpc(hold.url, 'io.atcr.hold.getPartUploadUrl', { token: partTok, body: { uploadId: init.body.uploadId, partNumber: n } })
        const r = await fetch(u.body.url, { method: 'PUT', body: chunk })
        parts.push({ partNumber: n, etag: r.headers.get('etag')! })
      }
    }
    const t1 = performance.now()
    const done = await xrpc(hold.url, 'io.atcr.hold.completeUpload', { token: await tok('io.atcr.hold.completeUpload'), body: { uploadId: init.body.uploadId, digest, parts } })
    const t2 = performance.now()
    const cpu = cpuSeconds(hold.pid()) - cpu0
    if (done.body.status !== 'completed') throw new Error(`upload failed: ${JSON.stringify(done.body)}`)
    const mb = (nParts * PART) / 1024 / 1024
    console.log(
      `upload via ${mode.padEnd(16)} ${mb.toFixed(0)} MiB: parts ${(mb / ((t1 - t0) / 1000)).toFixed(0)} MiB/s, ` +
        `complete+verify ${((t2 - t1) / 1000).toFixed(2)} s, end to end ${(mb / ((t2 - t0) / 1000)).toFixed(0)} MiB/s, hold CPU ${cpu.toFixed(2)} s (${((cpu * 1024) / mb).toFixed(2)} s/GiB)`,
    )
  }

  report('GET /xrpc/_health', wrk(`${hold.url}/xrpc/_health`))
  report('getBlob (307 redirect)', wrk(`${hold.url}/xrpc/com.atproto.sync.getBlob?did=${encodeURIComponent(hold.did)}&cid=${digest}`))
  report('listRecords (captain)', wrk(`${hold.url}/xrpc/com.atproto.repo.listRecords?repo=${encodeURIComponent(hold.did)}&collection=io.atcr.hold.captain`))
  const rss = Bun.spawnSync(['ps', '-o', 'rss=', '-p', String(hold.pid())])
  console.log(`hold RSS after the run: ${(Number(rss.stdout.toString().trim()) / 1024).toFixed(0)} MiB`)
} finally {
  await stopAll()
}
