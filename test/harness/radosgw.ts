/**
 * A real S3 endpoint for tests: a throwaway one-node Ceph cluster (mon + memstore OSD + radosgw) on 127.0.0.1.
 * Fakes such as s3rver accept any signature, so they cannot catch presigning bugs; radosgw checks SigV4 fully.
 *
 * Needs the Debian packages ceph-mon, ceph-osd, radosgw and ceph-common. Everything lives in a temp dir and every
 * daemon is our direct child (run in the foreground), so stopping is kill-by-PID plus `rm -rf`.
 */
import { AwsClient } from 'aws4fetch'
import { mkdtemp, rm, mkdir, writeFile, readFile } from 'node:fs/promises'
import { openSync, closeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, killPid, onStop } from './procs.ts'

export interface RadosgwInfo {
  endpoint: string
  region: string
  accessKey: string
  secretKey: string
  bucket: string
}

const ACCESS_KEY = 'TESTACCESSKEY'
const SECRET_KEY = 'TESTSECRETKEY'
const BUCKET = 'blobs'
// radosgw accepts any region name in SigV4 scopes for the default zonegroup; us-east-1 is what clients assume.
const REGION = 'us-east-1'

let started: Promise<RadosgwInfo> | undefined

/**
 * Starts the cluster once per test process; later calls share it (the first call's options win). The OSD keeps
 * objects in memory, `memstoreBytes` of them (default 2 GiB): a full OSD does not refuse writes, it blocks them,
 * so runs that store more (the benchmarks) must ask for more.
 */
export function startRadosgw(opts: { memstoreBytes?: number } = {}): Promise<RadosgwInfo> {
  const boot = () => bootOnce(opts.memstoreBytes ?? 2 * 1024 ** 3)
  started ??= boot()
    // Ceph start-up has timing-dependent failure modes; one clean retry keeps a whole suite from failing on it.
    .catch((err) => {
      console.error(`harness: radosgw start failed, retrying once: ${err instanceof Error ? err.message : err}`)
      return boot()
    })
    .catch((err) => {
      // A failed start must not be cached: the next caller gets a fresh attempt and the real error.
      started = undefined
      throw err
    })
  return started
}

type Register = (name: string, stop: () => Promise<void>) => void

/** One attempt; whatever it started is stopped again right away if it fails. */
async function bootOnce(memstoreBytes: number): Promise<RadosgwInfo> {
  const stops: (() => Promise<void>)[] = []
  const register: Register = (name, stop) => {
    // Run-once, so the global teardown is a no-op for what a failed attempt already stopped (no stale PIDs).
    let done: Promise<void> | undefined
    const once = () => (done ??= stop())
    stops.push(once)
    onStop(name, once)
  }
  try {
    return await bootCluster(register, memstoreBytes)
  } catch (err) {
    for (const stop of stops.reverse()) await stop().catch(() => {})
    throw err
  }
}

function conf(dir: string, fsid: string, monPort: number, rgwPort: number, memstoreBytes: number): string {
  // Auth is off (the cluster is private to this process); S3 SigV4 checks are radosgw's own and stay on.
  // The mon address is pinned to msgr v1 so a non-default port is not mistaken for a v2 address.
  // The paxos intervals cut radosgw's start from ~15 s to ~1.5 s: it creates its pools one map epoch at a time.
  // With crush/class updates on start, the OSD sends mon commands during init that intermittently fail
  // ("wrong fsid") and make it exit; we place it in the CRUSH map ourselves instead.
  return `[global]
fsid = ${fsid}
mon host = [v1:127.0.0.1:${monPort}]
mon initial members = a
public network = 127.0.0.0/8
auth cluster required = none
auth service required = none
auth client required = none
ms bind msgr2 = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 1
osd pool default pgp num = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
paxos propose interval = 0.05
paxos min wait = 0.01
osd pool default pg autoscale mode = off
osd crush update on start = false
osd class update on start = false
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = ${memstoreBytes}
run dir = ${dir}/run
log file = ${dir}/log/$name.log
admin socket = ${dir}/run/$name.asok
[mon.a]
mon data = ${dir}/mon
[osd.0]
osd data = ${dir}/osd0
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:${rgwPort}
`
}

async function bootCluster(track: Register, memstoreBytes: number): Promise<RadosgwInfo> {
  const t0 = performance.now()
  const dir = await mkdtemp(join(tmpdir(), 'atcr-rgw-'))
  // Registered first so it runs last (stoppers unwind in reverse), after every daemon is gone.
  track('radosgw temp dir', () => rm(dir, { recursive: true, force: true }))
  for (const sub of ['mon', 'osd0', 'run', 'log']) await mkdir(join(dir, sub), { recursive: true })

  const monPort = freePort()
  const rgwPort = freePort()
  const fsid = crypto.randomUUID()
  const confPath = join(dir, 'ceph.conf')
  await writeFile(confPath, conf(dir, fsid, monPort, rgwPort, memstoreBytes))
  const env = { ...process.env, CEPH_CONF: confPath }

  const run = async (what: string, cmd: string[]) => {
    const t = performance.now()
    const out = await runOnce(what, cmd, env, dir)
    if (process.env.ATCR_TEST_VERBOSE) console.error(`harness: ${what} ${Math.round(performance.now() - t)} ms`)
    return out
  }
  const daemon = (what: string, cmd: string[]) => {
    // One descriptor for both streams so stdout and stderr interleave instead of overwriting each other.
    const fd = openSync(join(dir, 'log', `${what}.out`), 'a')
    const proc = Bun.spawn(cmd, { env, stdin: 'ignore', stdout: fd, stderr: fd })
    closeSync(fd)
    track(what, () => killPid(proc.pid, 10000))
    return proc
  }

  await run('monmaptool', [
    'monmaptool', '--create', '--addv', 'a', `[v1:127.0.0.1:${monPort}]`, '--fsid', fsid, join(dir, 'monmap'),
  ])
  await run('ceph-mon --mkfs', ['ceph-mon', '-c', confPath, '--mkfs', '-i', 'a', '--monmap', join(dir, 'monmap')])
  // -f keeps each daemon in the foreground (our child, with a PID we own) while logging to its log file.
  const mon = daemon('ceph-mon', ['ceph-mon', '-c', confPath, '-f', '-i', 'a'])

  // `ceph osd create` blocks until the mon has formed a quorum, so it doubles as the readiness wait.
  await run('ceph osd create', ['ceph', '-c', confPath, '--connect-timeout', '30', 'osd', 'create'])
  await run('ceph-osd --mkfs', ['ceph-osd', '-c', confPath, '-i', '0', '--mkfs'])
  await run('ceph osd crush add', [
    'ceph', '-c', confPath, 'osd', 'crush', 'add', 'osd.0', '1.0', 'host=localhost', 'root=default',
  ])
  const osd = daemon('ceph-osd', ['ceph-osd', '-c', confPath, '-f', '-i', '0'])
  const rgw = daemon('radosgw', ['radosgw', '-c', confPath, '-f', '-n', 'client.rgw.a'])

  const endpoint = `http://127.0.0.1:${rgwPort}`
  await waitUntil(async () => {
    for (const [name, log, p] of [['ceph-mon', 'mon.a', mon], ['ceph-osd', 'osd.0', osd], ['radosgw', 'client.rgw.a', rgw]] as const) {
      if (p.exitCode !== null) {
        throw new Error(`${name} exited with ${p.exitCode}${await logTail(dir, `${name}.out`)}${await logTail(dir, `${log}.log`)}`)
      }
    }
    try {
      const res = await fetch(endpoint + '/')
      await res.arrayBuffer()
      return res.status < 500
    } catch {
      return false
    }
  }, 90_000, `radosgw on ${endpoint}`)

  await run('radosgw-admin user create', [
    'radosgw-admin', '-c', confPath, '-n', 'client.rgw.a', 'user', 'create', '--uid=test', '--display-name=test',
    `--access-key=${ACCESS_KEY}`, `--secret-key=${SECRET_KEY}`,
  ])

  const aws = new AwsClient({ accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY, service: 's3', region: REGION })
  // The user's key may take a moment to become visible to the gateway: retry the bucket creation briefly.
  await waitUntil(async () => {
    const res = await aws.fetch(`${endpoint}/${BUCKET}`, { method: 'PUT' })
    const body = await res.text()
    if (res.ok || body.includes('BucketAlreadyOwnedByYou')) return true
    if (res.status === 403) return false
    throw new Error(`creating bucket ${BUCKET}: ${res.status} ${body}`)
  }, 15_000, `bucket ${BUCKET}`)

  if (process.env.ATCR_TEST_VERBOSE) {
    console.error(`harness: radosgw ready on ${endpoint} in ${Math.round(performance.now() - t0)} ms (${dir})`)
  }
  return { endpoint, region: REGION, accessKey: ACCESS_KEY, secretKey: SECRET_KEY, bucket: BUCKET }
}

async function runOnce(what: string, cmd: string[], env: Record<string, string | undefined>, dir: string) {
  const proc = Bun.spawn(cmd, { env, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
  // A command that hangs (e.g. a mon that never forms quorum) must fail the boot, not the whole test run.
  const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000)
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ])
  clearTimeout(timer)
  if (code !== 0) {
    throw new Error(`harness: ${what} failed (exit ${code}):\n${out}\n${err}${await logTail(dir, 'mon.a.log')}`)
  }
  return out
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    if (await check()) return
    await Bun.sleep(200)
  }
  throw new Error(`harness: timed out waiting for ${what}`)
}

async function logTail(dir: string, file: string): Promise<string> {
  try {
    const text = await readFile(join(dir, 'log', file), 'utf8')
    return `\n--- ${file} ---\n${text.split('\n').slice(-40).join('\n')}`
  } catch {
    return ''
  }
}
