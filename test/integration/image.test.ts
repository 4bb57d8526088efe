/**
 * The container image, end to end with a private Docker engine (test/harness/dockerd.ts): the project's Dockerfile
 * is built with a local builder image made from the host's Bun (no registry needed), then the FROM scratch result
 * is checked from outside: no shell, its files and size, a hold serving on the host network, its HEALTHCHECK,
 * the `version` and `config init` commands, and hold data surviving a restart and a re-created container.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import YAML from 'yaml'
import { ensureBuilderImage, GLIBC_FILES, lddPaths } from '../harness/builder-image.ts'
import { type Docker, type Dockerd, startDockerd } from '../harness/dockerd.ts'
import { freePort } from '../harness/procs.ts'

const ROOT = resolve(import.meta.dir, '..', '..')
const IMAGE = 'atcr:test'
const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt'
const BUILD_TIMEOUT_MS = 600_000

let engine: Dockerd
let docker: Docker
const timings: Record<string, number> = {}
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`

/** Runs docker and fails with its output unless it exits 0; returns stdout. */
async function ok(args: string[], timeoutMs = 120_000): Promise<string> {
  const r = await docker(args, { timeoutMs })
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`)
  return r.stdout
}

async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < end) {
    try {
      const v = await check()
      if (v !== undefined) return v
    } catch (err) {
      last = err
    }
    await Bun.sleep(250)
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`)
}

beforeAll(async () => {
  let t = performance.now()
  engine = await startDockerd()
  docker = engine.docker
  timings.engine = performance.now() - t

  t = performance.now()
  const builder = await ensureBuilderImage(docker)
  timings.builderImage = performance.now() - t

  t = performance.now()
  await ok(
    ['build', '--network=host', '--build-arg', `BUILDER=${builder}`, '-t', IMAGE, ROOT],
    BUILD_TIMEOUT_MS,
  )
  timings.build = performance.now() - t
  console.log(
    `image: engine up in ${Math.round(timings.engine)} ms, builder image in ${Math.round(timings.builderImage)} ms, ` +
      `docker build in ${Math.round(timings.build)} ms`,
  )
}, BUILD_TIMEOUT_MS + 180_000)

describe('bun build --compile (scripts/build.ts)', () => {
  test('links exactly the five glibc files the Dockerfile copies', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'atcr-compile-'))
    try {
      const out = join(dir, 'atcr')
      const t = performance.now()
      const proc = Bun.spawn(['bun', 'scripts/build.ts', out], {
        cwd: ROOT,
        stdout: 'pipe',
        stderr: 'pipe',
      })
      const [so, se, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
      if (code !== 0) throw new Error(`scripts/build.ts failed:\n${so}\n${se}`)
      const size = (await stat(out)).size
      console.log(`compiled binary: ${mb(size)} in ${Math.round(performance.now() - t)} ms`)
      expect((await lddPaths(out)).sort()).toEqual([...GLIBC_FILES].sort())
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }, 120_000)
})

describe('container image (FROM scratch)', () => {
  const port = freePort()
  const url = `http://127.0.0.1:${port}`
  const holdDid = `did:web:127.0.0.1%3A${port}`
  const ownerDid = `did:plc:${Array.from({ length: 24 }, () => 'abcdefghijklmnopqrstuvwxyz234567'[Math.floor(Math.random() * 32)]).join('')}`
  const suffix = crypto.randomUUID().slice(0, 8)
  const name = `atcr-hold-${suffix}`
  const volume = `atcr-hold-data-${suffix}`

  let first: { key: string; captain: { uri: string; cid: string; value: Record<string, unknown> } } | undefined

  afterAll(async () => {
    if (!docker) return
    await docker(['rm', '-f', name], { timeoutMs: 60_000 })
    await docker(['volume', 'rm', '-f', volume], { timeoutMs: 60_000 })
    // vfs keeps a full copy of every layer (a GB or more after the build): delete it here, under this hook's
    // timeout, so stopping the engine at the end of the run is quick. The builder image stays for other suites.
    const t = performance.now()
    const tags = (await docker(['images', '--format', '{{.Repository}}:{{.Tag}}', 'atcr'])).stdout.split('\n')
    const images = tags.filter((s) => s.startsWith('atcr:'))
    if (images.length) await docker(['rmi', '-f', ...images], { timeoutMs: 120_000 })
    await docker(['image', 'prune', '-f'], { timeoutMs: 120_000 })
    if (process.env.ATCR_TEST_VERBOSE) console.error(`image: removed ${images.join(', ')} in ${Math.round(performance.now() - t)} ms`)
  }, 300_000)

  const runArgs = () => [
    'run', '-d', '--name', name, '--network=host',
    '-v', `${volume}:/var/lib/atcr-hold`,
    '-e', `HOLD_SERVER_ADDR=127.0.0.1:${port}`,
    '-e', `HOLD_SERVER_PUBLIC_URL=${url}`,
    '-e', `HOLD_REGISTRATION_OWNER_DID=${ownerDid}`,
    // Only the interval is shortened; the check command itself is the image's HEALTHCHECK.
    '--health-interval=1s',
    IMAGE,
  ]

  async function logs(): Promise<string> {
    const r = await docker(['logs', '--tail', '50', name])
    return `${r.stdout}${r.stderr}`
  }

  async function identity() {
    await until(`${url}/xrpc/_health`, 60_000, async () => ((await fetch(`${url}/xrpc/_health`)).ok ? true : undefined))
    const doc = (await (await fetch(`${url}/.well-known/did.json`)).json()) as {
      id: string
      verificationMethod: { id: string; type: string; publicKeyMultibase: string }[]
    }
    const res = await fetch(
      `${url}/xrpc/com.atproto.repo.listRecords?repo=${encodeURIComponent(holdDid)}&collection=io.atcr.hold.captain`,
    )
    expect(res.status).toBe(200)
    const list = (await res.json()) as { records: { uri: string; cid: string; value: Record<string, unknown> }[] }
    return { doc, list }
  }

  async function healthy(): Promise<string> {
    return until('Health.Status healthy', 90_000, async () => {
      const out = await ok(['inspect', '--format', '{{json .State}}', name])
      const state = JSON.parse(out) as { Running: boolean; Health?: { Status: string; Log?: { ExitCode: number; Output: string }[] } }
      if (!state.Running) throw new Error(`container stopped:\n${await logs()}`)
      if (state.Health?.Status === 'unhealthy') {
        throw new Error(`unhealthy: ${JSON.stringify(state.Health.Log?.slice(-2))}\n${await logs()}`)
      }
      return state.Health?.Status === 'healthy' ? 'healthy' : undefined
    })
  }

  test('has no shell', async () => {
    const sh = await docker(['run', '--rm', '--network=none', '--entrypoint', '/bin/sh', IMAGE, '-c', 'true'])
    expect(sh.code).not.toBe(0)
    expect(`${sh.stdout}${sh.stderr}`).toMatch(/no such file|not found/i)
  }, 60_000)

  test('holds only the binary, the five glibc files and the CA bundle; size is reasonable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'atcr-export-'))
    const cid = (await ok(['create', IMAGE])).trim()
    try {
      await ok(['export', '-o', join(dir, 'fs.tar'), cid])
      const tar = Bun.spawn(['tar', '-tvf', join(dir, 'fs.tar')], { stdout: 'pipe', stderr: 'pipe' })
      const listing = await new Response(tar.stdout).text()
      expect(await tar.exited).toBe(0)
      const files = new Map<string, number>()
      for (const line of listing.split('\n')) {
        // "-rwxr-xr-x 0/0 115067056 2026-01-01 00:00 atcr" (regular files only)
        const m = /^-\S+\s+\S+\s+(\d+)\s+\S+\s+\S+\s+(.+)$/.exec(line)
        if (m) files.set('/' + m[2]!.replace(/^\.?\//, ''), Number(m[1]))
      }
      // What the engine adds to every container's filesystem.
      for (const injected of ['/.dockerenv', '/dev/console', '/etc/hosts', '/etc/hostname', '/etc/resolv.conf']) files.delete(injected)
      expect([...files.keys()].sort()).toEqual(['/atcr', ...GLIBC_FILES, CA_BUNDLE].sort())

      const imageSize = Number((await ok(['image', 'inspect', '--format', '{{.Size}}', IMAGE])).trim())
      const binary = files.get('/atcr')!
      console.log(`image ${IMAGE}: ${mb(imageSize)} (binary ${mb(binary)}, everything else ${mb(imageSize - binary)})`)
      expect(imageSize).toBeLessThan(binary + 10e6)
      expect(imageSize).toBeLessThan(250e6)
    } finally {
      await docker(['rm', '-f', cid])
      await rm(dir, { recursive: true, force: true })
    }
  }, 120_000)

  test('`version` and `config init --role hold`', async () => {
    const version = (await ok(['run', '--rm', '--network=none', IMAGE, 'version'])).trim()
    const pkg = (await Bun.file(join(ROOT, 'package.json')).json()) as { version: string }
    expect(version).toBe(pkg.version)

    const yaml = await ok(['run', '--rm', '--network=none', IMAGE, 'config', 'init', '--role', 'hold'])
    expect(yaml).toContain('#') // commented
    const parsed = YAML.parse(yaml) as { server?: { addr?: unknown; public_url?: unknown } }
    expect(parsed.server).toBeDefined()
    expect(typeof parsed.server!.addr).toBe('string')
  }, 60_000)

  test('outbound TLS trusts the image\'s CA bundle (a private CA mounted over it)', async () => {
    // A private CA for an S3 endpoint is added by mounting a bundle over /etc/ssl/certs/ca-certificates.crt.
    // Bun trusts its built-in roots plus /etc/ssl/cert.pem or hashed /etc/ssl/certs/*.0 links; the bundle file is
    // only read when NODE_EXTRA_CA_CERTS (or SSL_CERT_FILE) names it, which the image must therefore set.
    const dir = await mkdtemp(join(tmpdir(), 'atcr-tls-'))
    let server: ReturnType<typeof Bun.serve> | undefined
    try {
      const openssl = Bun.spawn(
        [
          'openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
          '-subj', '/CN=atcr-test-ca', '-addext', 'subjectAltName=IP:127.0.0.1',
          '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
        ],
        { stdout: 'pipe', stderr: 'pipe' },
      )
      const err = await new Response(openssl.stderr).text()
      if ((await openssl.exited) !== 0) throw new Error(`openssl: ${err}`)
      server = Bun.serve({
        hostname: '127.0.0.1',
        port: 0,
        tls: { cert: Bun.file(join(dir, 'cert.pem')), key: Bun.file(join(dir, 'key.pem')) },
        fetch: () => new Response('ok'),
      })
      const target = `https://127.0.0.1:${server.port}/`
      const check = (extra: string[]) =>
        docker(['run', '--rm', '--network=host', ...extra, IMAGE, 'healthcheck', target], { timeoutMs: 60_000 })
      const mounted = ['-v', `${join(dir, 'cert.pem')}:${CA_BUNDLE}:ro`]
      // Control: without the private CA the endpoint is not trusted.
      expect((await check([])).code).toBe(1)
      expect((await check(mounted)).code).toBe(0)
    } finally {
      server?.stop(true)
      await rm(dir, { recursive: true, force: true })
    }
  }, 120_000)

  test('serves a hold on the host network and reports healthy', async () => {
    // The image's HEALTHCHECK names no URL: `atcr healthcheck` finds the port in HOLD_SERVER_ADDR, so the check
    // follows the hold onto whatever port it was given (here a free one on the host network).
    type Healthcheck = { Test: string[] }
    const hc = JSON.parse(await ok(['image', 'inspect', '--format', '{{json .Config.Healthcheck}}', IMAGE])) as Healthcheck | null
    expect(hc?.Test).toEqual(['CMD', '/atcr', 'healthcheck']) // exec form: there is no shell to run CMD-SHELL

    const t0 = performance.now()
    await ok(runArgs())
    const { doc, list } = await identity()
    const serving = performance.now() - t0

    const health = (await (await fetch(`${url}/xrpc/_health`)).json()) as { version?: string }
    expect(typeof health.version).toBe('string')
    expect(doc.id).toBe(holdDid)
    const vm = doc.verificationMethod.find((m) => m.id === `${holdDid}#atproto`)
    expect(vm?.publicKeyMultibase).toMatch(/^z/)
    expect(list.records).toHaveLength(1)
    expect(list.records[0]!.uri).toBe(`at://${holdDid}/io.atcr.hold.captain/self`)
    expect(list.records[0]!.value.owner).toBe(ownerDid)
    first = { key: vm!.publicKeyMultibase, captain: list.records[0]! }

    await healthy()
    timings.healthy = performance.now() - t0
    console.log(
      `container: serving ${Math.round(serving)} ms after \`docker run\`, healthy after ${Math.round(timings.healthy)} ms`,
    )
  }, 180_000)

  test('hold data survives `docker restart` and a re-created container on the same volume', async () => {
    expect(first).toBeDefined()
    const same = async (what: string) => {
      const { doc, list } = await identity()
      const vm = doc.verificationMethod.find((m) => m.id === `${holdDid}#atproto`)
      expect({ what, id: doc.id, key: vm?.publicKeyMultibase, records: list.records }).toEqual({
        what,
        id: holdDid,
        key: first!.key,
        records: [first!.captain],
      })
    }

    let t = performance.now()
    await ok(['restart', name])
    await same('after docker restart')
    await healthy()
    console.log(`container: healthy ${Math.round(performance.now() - t)} ms after \`docker restart\``)

    await ok(['rm', '-f', name])
    t = performance.now()
    await ok(runArgs())
    await same('after re-creating the container')
    await healthy()
    console.log(`container: re-created and healthy in ${Math.round(performance.now() - t)} ms`)

    await ok(['stop', name], 60_000)
    await ok(['rm', name])
    expect(
      await fetch(`${url}/xrpc/_health`).then(
        () => 'answering',
        () => 'gone',
      ),
    ).toBe('gone')
  }, 240_000)
})
