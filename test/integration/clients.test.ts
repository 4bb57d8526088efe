/**
 * Stock clients against a whole registry on 127.0.0.1 (test/harness/stack.ts: PLC + PDS, an fs hold and the AppView,
 * each a real process): skopeo, buildah, podman and docker push and pull through the AppView exactly as users do,
 * with app passwords. Checks are made from the outside: manifest bytes and digests as the clients see them, image
 * IDs, tags, multi-arch indexes, and that one user cannot write into another's namespace.
 *
 * buildah/podman/skopeo keep everything (vfs storage, run root, auth file, policy, registries.conf, temp files)
 * in one temp dir, so the machine's own container storage is never touched. Docker is a private engine
 * (test/harness/dockerd.ts) that treats 127.0.0.0/8 registries as insecure (plain http) by default.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Docker, startDockerd } from '../harness/dockerd.ts'
import { type BuiltImage, type BuiltIndex, makeImage, makeIndex } from '../harness/oci-layout.ts'
import { registryToken, type Stack, startStack, type StackUser } from '../harness/stack.ts'

const STACK_TIMEOUT_MS = 180_000
const CLIENT_TIMEOUT_MS = 180_000
const DOCKER_TIMEOUT_MS = 300_000

const sha256 = (b: Uint8Array) => `sha256:${new Bun.CryptoHasher('sha256').update(b).digest('hex')}`

let stack: Stack
let REG: string
let alice: StackUser
let bob: StackUser
const work = mkdtempSync(join(tmpdir(), 'atcr-clients-'))

// ---------------------------------------------------------------------------------------------------------------
// Running clients

type RunResult = { code: number; stdout: string; stderr: string; bytes: Uint8Array; ms: number }

/** The private configuration every containers/* tool (skopeo, buildah, podman) gets through its environment. */
const ctrDir = join(work, 'containers')
const POLICY = join(ctrDir, 'policy.json')
function containersEnv(): Record<string, string> {
  mkdirSync(join(ctrDir, 'tmp'), { recursive: true })
  mkdirSync(join(ctrDir, 'libpod-tmp'), { recursive: true })
  writeFileSync(
    join(ctrDir, 'storage.conf'),
    `[storage]\ndriver = "vfs"\ngraphroot = "${ctrDir}/root"\nrunroot = "${ctrDir}/run"\n`,
  )
  writeFileSync(
    join(ctrDir, 'containers.conf'),
    `[engine]\ntmp_dir = "${ctrDir}/libpod-tmp"\nvolume_path = "${ctrDir}/volumes"\nevents_logger = "none"\ncgroup_manager = "cgroupfs"\n`,
  )
  writeFileSync(join(ctrDir, 'registries.conf'), 'unqualified-search-registries = []\n')
  writeFileSync(POLICY, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }))
  writeFileSync(join(ctrDir, 'auth.json'), JSON.stringify({ auths: {} }))
  return {
    CONTAINERS_STORAGE_CONF: join(ctrDir, 'storage.conf'),
    CONTAINERS_CONF: join(ctrDir, 'containers.conf'),
    CONTAINERS_REGISTRIES_CONF: join(ctrDir, 'registries.conf'),
    REGISTRY_AUTH_FILE: join(ctrDir, 'auth.json'),
    TMPDIR: join(ctrDir, 'tmp'),
  }
}
let ctrEnv: Record<string, string> = {}

async function run(cmd: string[], opts: { env?: Record<string, string>; stdin?: string; timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  const t = performance.now()
  const proc = Bun.spawn(cmd, {
    env: { ...process.env, ...ctrEnv, ...opts.env },
    cwd: opts.cwd ?? work,
    stdin: opts.stdin === undefined ? 'ignore' : new Blob([opts.stdin]),
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const timer = setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs ?? CLIENT_TIMEOUT_MS)
  const [out, stderr, code] = await Promise.all([new Response(proc.stdout).arrayBuffer(), new Response(proc.stderr).text(), proc.exited])
  clearTimeout(timer)
  const bytes = new Uint8Array(out)
  return { code, stdout: new TextDecoder().decode(bytes), stderr, bytes, ms: Math.round(performance.now() - t) }
}

/** Runs a client and fails the test with its output unless it exits 0. */
async function ok(cmd: string[], opts: Parameters<typeof run>[1] = {}): Promise<RunResult> {
  const r = await run(cmd, opts)
  if (r.code !== 0) throw new Error(`${cmd.join(' ')} exited ${r.code}:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`)
  return r
}

const timings: [string, number][] = []
function note(what: string, ms: number) {
  timings.push([what, Math.round(ms)])
}

const creds = (u: StackUser) => `${u.handle}:${u.appPw}`
const skopeo = (args: string[]) => ['skopeo', '--policy', POLICY, ...args]

/** Every blob in an OCI layout: digest => bytes' digest (computed, so a corrupt copy shows). */
function layoutBlobs(dir: string): Map<string, string> {
  const m = new Map<string, string>()
  for (const f of readdirSync(join(dir, 'blobs', 'sha256'))) m.set(`sha256:${f}`, sha256(readFileSync(join(dir, 'blobs', 'sha256', f))))
  return m
}

/** The manifest the single entry of a layout's index.json points at. */
function layoutTop(dir: string): { digest: string; mediaType: string } {
  const idx = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string; mediaType: string }[] }
  expect(idx.manifests).toHaveLength(1)
  return idx.manifests[0]!
}

/** GET a manifest over plain HTTP with a registry token: content type and digest as the registry sends them. */
async function fetchManifest(u: StackUser, name: string, ref: string, accept: string[]): Promise<{ status: number; type: string | null; digest: string | null; bytes: Uint8Array }> {
  const token = await registryToken(stack, u, `repository:${name}:pull`)
  const res = await fetch(`${stack.appview.url}/v2/${name}/manifests/${ref}`, { headers: { authorization: `Bearer ${token}`, accept: accept.join(', ') } })
  return { status: res.status, type: res.headers.get('content-type'), digest: res.headers.get('docker-content-digest'), bytes: new Uint8Array(await res.arrayBuffer()) }
}

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json'
const ALL_TYPES = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST]

beforeAll(async () => {
  const t = performance.now()
  stack = await startStack()
  REG = stack.registry
  alice = stack.alice
  bob = stack.bob
  ctrEnv = containersEnv()
  note('stack start (PLC+PDS, hold, AppView)', performance.now() - t)
}, STACK_TIMEOUT_MS)

afterAll(async () => {
  // vfs storage has no mounts of its own, but a buildah working container could: remove them through the tools
  // (only with the private configuration in place, never against the machine's own storage).
  if (ctrEnv.CONTAINERS_STORAGE_CONF) {
    await run(['buildah', 'rm', '--all'], { timeoutMs: 60_000 }).catch(() => {})
    await run(['podman', 'rmi', '--all', '--force'], { timeoutMs: 60_000 }).catch(() => {})
  }
  rmSync(work, { recursive: true, force: true })
  console.log(`clients (fs hold) timings:\n${timings.map(([w, ms]) => `  ${w.padEnd(58)} ${String(ms).padStart(6)} ms`).join('\n')}`)
}, 120_000)

// ---------------------------------------------------------------------------------------------------------------

describe('skopeo', () => {
  let img: BuiltImage
  let other: BuiltImage

  test('copy an OCI layout up; inspect --raw returns exactly the pushed manifest bytes', async () => {
    img = makeImage(join(work, 'img'), { layers: 3, layerBytes: 512 * 1024 })
    other = makeImage(join(work, 'other'), { layers: 1, layerBytes: 4096 })
    const up = await ok(skopeo(['copy', '--dest-creds', creds(alice), '--dest-tls-verify=false', `oci:${img.dir}:latest`, `docker://${REG}/${alice.handle}/app:v1`]))
    note(`skopeo copy up (3 x 512 KiB layers)`, up.ms)

    const raw = await ok(skopeo(['inspect', '--raw', '--creds', creds(alice), '--tls-verify=false', `docker://${REG}/${alice.handle}/app:v1`]))
    note('skopeo inspect --raw', raw.ms)
    expect(sha256(raw.bytes)).toBe(img.manifestDigest)
    expect(Buffer.from(raw.bytes).equals(readFileSync(join(img.dir, 'blobs', 'sha256', img.manifestDigest.slice(7))))).toBe(true)

    // Anonymous pulls work too (public hold), and the parsed view names the same digest and layers.
    const info = JSON.parse((await ok(skopeo(['inspect', '--tls-verify=false', `docker://${REG}/${alice.handle}/app:v1`]))).stdout)
    expect(info.Digest).toBe(img.manifestDigest)
    expect(info.Layers).toEqual(img.layerDigests)
    expect(info.Architecture).toBe('amd64')

    // The registry sends the stored media type and digest itself.
    const m = await fetchManifest(alice, `${alice.handle}/app`, 'v1', ALL_TYPES)
    expect(m.status).toBe(200)
    expect(m.type).toBe(OCI_MANIFEST)
    expect(m.digest).toBe(img.manifestDigest)
  }, CLIENT_TIMEOUT_MS)

  test('copy back down to a new layout: same manifest digest, same blobs byte for byte', async () => {
    const dir = join(work, 'down')
    const down = await ok(skopeo(['copy', '--src-tls-verify=false', '--src-creds', creds(alice), `docker://${REG}/${alice.handle}/app:v1`, `oci:${dir}:v1`]))
    note('skopeo copy down', down.ms)
    expect(layoutTop(dir).digest).toBe(img.manifestDigest)
    const got = layoutBlobs(dir)
    const want = layoutBlobs(img.dir)
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort())
    for (const [name, actual] of got) expect(actual).toBe(name)
  }, CLIENT_TIMEOUT_MS)

  test('list-tags after a second tag (all blobs already there)', async () => {
    const again = await ok(skopeo(['copy', '--dest-creds', creds(alice), '--dest-tls-verify=false', `oci:${img.dir}:latest`, `docker://${REG}/${alice.handle}/app:v2`]))
    note('skopeo copy, second tag (blobs exist)', again.ms)
    const tags = await ok(skopeo(['list-tags', '--tls-verify=false', `docker://${REG}/${alice.handle}/app`]))
    note('skopeo list-tags', tags.ms)
    const parsed = JSON.parse(tags.stdout) as { Repository: string; Tags: string[] }
    expect(parsed.Repository).toBe(`${REG}/${alice.handle}/app`)
    expect(parsed.Tags).toEqual(['v1', 'v2'])
  }, CLIENT_TIMEOUT_MS)

  test('copy by digest', async () => {
    const ref = `docker://${REG}/${alice.handle}/app@${img.manifestDigest}`
    const raw = await ok(skopeo(['inspect', '--raw', '--tls-verify=false', ref]))
    expect(sha256(raw.bytes)).toBe(img.manifestDigest)
    const dir = join(work, 'bydigest')
    const r = await ok(skopeo(['copy', '--src-tls-verify=false', ref, `oci:${dir}:x`]))
    note('skopeo copy down by digest', r.ms)
    expect(layoutTop(dir).digest).toBe(img.manifestDigest)
    expect([...layoutBlobs(dir).keys()].sort()).toEqual([...layoutBlobs(img.dir).keys()].sort())
  }, CLIENT_TIMEOUT_MS)

  describe('multi-arch (OCI image index)', () => {
    let idx: BuiltIndex

    test('copy --all up: inspect --raw is the index, each child is pullable by digest', async () => {
      idx = makeIndex(join(work, 'multi'), { platforms: [{ arch: 'amd64' }, { arch: 'arm64', variant: 'v8' }], layers: 2, layerBytes: 64 * 1024 })
      const up = await ok(skopeo(['copy', '--all', '--dest-creds', creds(alice), '--dest-tls-verify=false', `oci:${idx.dir}:latest`, `docker://${REG}/${alice.handle}/multi:v1`]))
      note('skopeo copy --all up (index, 2 platforms)', up.ms)

      const raw = await ok(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${REG}/${alice.handle}/multi:v1`]))
      expect(sha256(raw.bytes)).toBe(idx.indexDigest)
      expect(Buffer.from(raw.bytes).equals(Buffer.from(idx.indexBytes))).toBe(true)
      expect(JSON.parse(raw.stdout).mediaType).toBe(OCI_INDEX)
      const m = await fetchManifest(alice, `${alice.handle}/multi`, 'v1', ALL_TYPES)
      expect(m.type).toBe(OCI_INDEX)
      expect(m.digest).toBe(idx.indexDigest)

      for (const child of idx.images) {
        const ref = `docker://${REG}/${alice.handle}/multi@${child.manifestDigest}`
        const childRaw = await ok(skopeo(['inspect', '--raw', '--tls-verify=false', ref]))
        expect(sha256(childRaw.bytes)).toBe(child.manifestDigest)
        const dir = join(work, `multi-child-${child.arch}`)
        await ok(skopeo(['copy', '--src-tls-verify=false', ref, `oci:${dir}:x`]))
        expect(layoutTop(dir).digest).toBe(child.manifestDigest)
        const blobs = layoutBlobs(dir)
        for (const l of child.layerDigests) expect(blobs.get(l)).toBe(l)
      }
    }, CLIENT_TIMEOUT_MS)

    test('clients pick the platform from the index', async () => {
      const byArch = Object.fromEntries(idx.images.map((i) => [i.arch, i.manifestDigest]))
      for (const arch of ['amd64', 'arm64']) {
        const info = JSON.parse(
          (await ok(skopeo(['--override-arch', arch, '--override-os', 'linux', 'inspect', '--tls-verify=false', `docker://${REG}/${alice.handle}/multi:v1`]))).stdout,
        )
        expect(info.Architecture).toBe(arch)
        expect(info.Layers).toEqual(idx.images.find((i) => i.arch === arch)!.layerDigests)
        // A single-platform copy resolves the index to that platform's manifest.
        const dir = join(work, `multi-pick-${arch}`)
        await ok(skopeo(['--override-arch', arch, '--override-os', 'linux', 'copy', '--src-tls-verify=false', `docker://${REG}/${alice.handle}/multi:v1`, `oci:${dir}:x`]))
        expect(layoutTop(dir).digest).toBe(byArch[arch]!)
      }
    }, CLIENT_TIMEOUT_MS)

    test('copy --all back down: the same index and every child', async () => {
      const dir = join(work, 'multi-down')
      const down = await ok(skopeo(['copy', '--all', '--src-tls-verify=false', `docker://${REG}/${alice.handle}/multi:v1`, `oci:${dir}:v1`]))
      note('skopeo copy --all down', down.ms)
      const top = layoutTop(dir)
      expect(top.digest).toBe(idx.indexDigest)
      expect(top.mediaType).toBe(OCI_INDEX)
      const blobs = layoutBlobs(dir)
      expect([...blobs.keys()].sort()).toEqual([...layoutBlobs(idx.dir).keys()].sort())
      for (const [name, actual] of blobs) expect(actual).toBe(name)
    }, CLIENT_TIMEOUT_MS)
  })

  describe('isolation and bad input', () => {
    test("bob cannot push into alice's namespace (new repository, new blobs)", async () => {
      const fresh = makeImage(join(work, 'bob-fresh'), { layers: 1, layerBytes: 8192 })
      const r = await run(skopeo(['copy', '--dest-creds', creds(bob), '--dest-tls-verify=false', `oci:${fresh.dir}:latest`, `docker://${REG}/${alice.handle}/x:v1`]))
      expect(r.code).not.toBe(0)
      expect(r.stderr).toMatch(/denied|unauthorized/i)
      // Nothing appeared under alice's name.
      const tags = await run(skopeo(['list-tags', '--tls-verify=false', `docker://${REG}/${alice.handle}/x`]))
      // A repository with no tags and no manifests is unknown (spec: 404 NAME_UNKNOWN), so list-tags fails.
      expect(tags.code).not.toBe(0)
      expect(tags.stderr).toMatch(/name unknown|not found/i)
      const pull = await run(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${REG}/${alice.handle}/x:v1`]))
      expect(pull.code).not.toBe(0)
      expect(pull.stderr).toMatch(/manifest unknown/i)
    }, CLIENT_TIMEOUT_MS)

    test("bob cannot move alice's tag (blobs already there, only the manifest PUT is new)", async () => {
      // `other` is first pushed by alice to another repository, so its blobs exist in the hold and the push by
      // bob reaches the manifest PUT.
      await ok(skopeo(['copy', '--dest-creds', creds(alice), '--dest-tls-verify=false', `oci:${other.dir}:latest`, `docker://${REG}/${alice.handle}/other:v1`]))
      const r = await run(skopeo(['copy', '--dest-creds', creds(bob), '--dest-tls-verify=false', `oci:${other.dir}:latest`, `docker://${REG}/${alice.handle}/app:v1`]))
      expect(r.code).not.toBe(0)
      expect(r.stderr).toMatch(/denied|unauthorized/i)
      const raw = await ok(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${REG}/${alice.handle}/app:v1`]))
      expect(sha256(raw.bytes)).toBe(img.manifestDigest)
      const tags = JSON.parse((await ok(skopeo(['list-tags', '--tls-verify=false', `docker://${REG}/${alice.handle}/app`]))).stdout)
      expect(tags.Tags).toEqual(['v1', 'v2'])
    }, CLIENT_TIMEOUT_MS)

    test('bob can push the same image into his own namespace; a wrong app password is refused', async () => {
      await ok(skopeo(['copy', '--dest-creds', creds(bob), '--dest-tls-verify=false', `oci:${other.dir}:latest`, `docker://${REG}/${bob.handle}/app:v1`]))
      const raw = await ok(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${REG}/${bob.handle}/app:v1`]))
      expect(sha256(raw.bytes)).toBe(other.manifestDigest)
      const bad = await run(skopeo(['copy', '--dest-creds', `${bob.handle}:not-the-password`, '--dest-tls-verify=false', `oci:${other.dir}:latest`, `docker://${REG}/${bob.handle}/app:v2`]))
      expect(bad.code).not.toBe(0)
      expect(bad.stderr).toMatch(/unauthorized|username\/password/i)
      const tags = JSON.parse((await ok(skopeo(['list-tags', '--tls-verify=false', `docker://${REG}/${bob.handle}/app`]))).stdout)
      expect(tags.Tags).toEqual(['v1'])
    }, CLIENT_TIMEOUT_MS)

    test('skopeo delete: only the owner; deleting by tag removes the manifest and its tags', async () => {
      const del = makeImage(join(work, 'del'), { layers: 1, layerBytes: 4096 })
      const ref = (tag: string) => `docker://${REG}/${alice.handle}/del:${tag}`
      for (const tag of ['v1', 'v2']) await ok(skopeo(['copy', '--dest-creds', creds(alice), '--dest-tls-verify=false', `oci:${del.dir}:latest`, ref(tag)]))
      const denied = await run(skopeo(['delete', '--creds', creds(bob), '--tls-verify=false', ref('v1')]))
      expect(denied.code).not.toBe(0)
      expect(denied.stderr).toMatch(/denied|unauthorized/i)
      expect(sha256((await ok(skopeo(['inspect', '--raw', '--tls-verify=false', ref('v1')]))).bytes)).toBe(del.manifestDigest)

      // skopeo resolves the tag and deletes by digest, which (as in CNCF distribution) takes every tag with it.
      const r = await ok(skopeo(['delete', '--creds', creds(alice), '--tls-verify=false', ref('v1')]))
      note('skopeo delete', r.ms)
      for (const tag of ['v1', 'v2']) {
        const gone = await run(skopeo(['inspect', '--raw', '--tls-verify=false', ref(tag)]))
        expect(gone.code).not.toBe(0)
        expect(gone.stderr).toMatch(/manifest unknown/i)
      }
      const byDigest = await run(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${REG}/${alice.handle}/del@${del.manifestDigest}`]))
      expect(byDigest.code).not.toBe(0)
      expect(byDigest.stderr).toMatch(/manifest unknown/i)
      const tags = await run(skopeo(['list-tags', '--tls-verify=false', `docker://${REG}/${alice.handle}/del`]))
      // A repository with no tags and no manifests is unknown (spec: 404 NAME_UNKNOWN), so list-tags fails.
      expect(tags.code).not.toBe(0)
    }, CLIENT_TIMEOUT_MS)

    // Manifest records are keyed per repository: the same image in two repositories is two records.
    test('the same image in two repositories of one user: both stay pullable; deleting one leaves the other', async () => {
      const same = makeImage(join(work, 'same'), { layers: 1, layerBytes: 4096 })
      for (const repo of ['same-a', 'same-b']) {
        await ok(skopeo(['copy', '--dest-creds', creds(alice), '--dest-tls-verify=false', `oci:${same.dir}:latest`, `docker://${REG}/${alice.handle}/${repo}:v1`]))
      }
      for (const repo of ['same-a', 'same-b']) {
        for (const ref of [':v1', `@${same.manifestDigest}`]) {
          const raw = await ok(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${REG}/${alice.handle}/${repo}${ref}`]))
          expect(sha256(raw.bytes)).toBe(same.manifestDigest)
        }
      }
      await ok(skopeo(['delete', '--creds', creds(alice), '--tls-verify=false', `docker://${REG}/${alice.handle}/same-b:v1`]))
      const raw = await ok(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${REG}/${alice.handle}/same-a:v1`]))
      expect(sha256(raw.bytes)).toBe(same.manifestDigest)
    }, CLIENT_TIMEOUT_MS)

    test('pulling a tag that does not exist fails cleanly', async () => {
      const r = await run(skopeo(['copy', '--src-tls-verify=false', `docker://${REG}/${alice.handle}/app:nope`, `oci:${join(work, 'nope')}:x`]))
      expect(r.code).not.toBe(0)
      expect(r.stderr).toMatch(/manifest unknown/i)
      const d = await run(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${REG}/${alice.handle}/app@sha256:${'0'.repeat(64)}`]))
      expect(d.code).not.toBe(0)
      expect(d.stderr).toMatch(/manifest unknown/i)
      const who = await run(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${REG}/nobody-here.test/app:v1`]))
      expect(who.code).not.toBe(0)
      expect(who.stderr).toMatch(/name unknown|not found/i)
    }, CLIENT_TIMEOUT_MS)
  })
})

// ---------------------------------------------------------------------------------------------------------------

let buildahDigest = ''
let buildahImageId = ''

describe('buildah', () => {
  test('build on top of an OCI layout (from, copy, config, commit) and push', async () => {
    const base = makeImage(join(work, 'buildah-base'), { layers: 2, layerBytes: 256 * 1024 })
    let t = performance.now()
    // A relative path (run() works in `work`): buildah names the image after the path, which must be lowercase.
    const ctr = (await ok(['buildah', 'from', '--signature-policy', POLICY, '--name', 'bimg-work', 'oci:buildah-base:latest'])).stdout.trim()
    writeFileSync(join(work, 'hello.txt'), `built by buildah ${crypto.randomUUID()}\n`)
    await ok(['buildah', 'copy', ctr, join(work, 'hello.txt'), '/hello.txt'])
    await ok(['buildah', 'config', '--label', 'org.example.built-by=buildah', '--cmd', '/hello.txt', ctr])
    buildahImageId = (await ok(['buildah', 'commit', '--rm', ctr, 'localhost/bimg:v1'])).stdout.trim().split('\n').pop()!
    note('buildah from + copy + commit', performance.now() - t)

    const digestFile = join(work, 'buildah.digest')
    t = performance.now()
    const push = await ok(['buildah', 'push', '--signature-policy', POLICY, '--creds', creds(alice), '--tls-verify=false', '--digestfile', digestFile, 'localhost/bimg:v1', `docker://${REG}/${alice.handle}/bimg:v1`])
    note('buildah push (OCI, 3 layers)', push.ms)
    buildahDigest = readFileSync(digestFile, 'utf8').trim()
    expect(buildahDigest).toMatch(/^sha256:[0-9a-f]{64}$/)

    const raw = await ok(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${REG}/${alice.handle}/bimg:v1`]))
    expect(sha256(raw.bytes)).toBe(buildahDigest)
    const manifest = JSON.parse(raw.stdout)
    expect(manifest.layers).toHaveLength(3)
    // buildah re-compresses on push, so layer digests change; the uncompressed layers (diff IDs) do not.
    const blob = (dir: string, d: string) => JSON.parse(readFileSync(join(dir, 'blobs', 'sha256', d.slice(7)), 'utf8'))
    const baseDiffIds: string[] = blob(base.dir, blob(base.dir, base.manifestDigest).config.digest).rootfs.diff_ids
    const cfg = await ok(skopeo(['inspect', '--config', '--raw', '--tls-verify=false', `docker://${REG}/${alice.handle}/bimg:v1`]))
    expect(sha256(cfg.bytes)).toBe(manifest.config.digest)
    const config = JSON.parse(cfg.stdout)
    expect(config.rootfs.diff_ids.slice(0, 2)).toEqual(baseDiffIds)
    expect(config.config.Labels['org.example.built-by']).toBe('buildah')
    expect(`sha256:${buildahImageId}`).toBe(manifest.config.digest)
  }, CLIENT_TIMEOUT_MS)

  test('push in Docker format (schema 2): the registry serves the Docker media type', async () => {
    const digestFile = join(work, 'buildah-docker.digest')
    const push = await ok(['buildah', 'push', '--signature-policy', POLICY, '--format', 'docker', '--creds', creds(alice), '--tls-verify=false', '--digestfile', digestFile, 'localhost/bimg:v1', `docker://${REG}/${alice.handle}/bimg:v1-docker`])
    note('buildah push --format docker', push.ms)
    const digest = readFileSync(digestFile, 'utf8').trim()
    const m = await fetchManifest(alice, `${alice.handle}/bimg`, 'v1-docker', ALL_TYPES)
    expect(m.status).toBe(200)
    expect(m.type).toBe(DOCKER_MANIFEST)
    expect(m.digest).toBe(digest)
    expect(sha256(m.bytes)).toBe(digest)
    expect(JSON.parse(new TextDecoder().decode(m.bytes)).mediaType).toBe(DOCKER_MANIFEST)
  }, CLIENT_TIMEOUT_MS)
})

// ---------------------------------------------------------------------------------------------------------------

describe('podman', () => {
  const podman = (sub: string, args: string[]) => ['podman', sub, ...(sub === 'pull' || sub === 'push' ? ['--signature-policy', POLICY] : []), ...args]

  test("pull buildah's image by tag: digest and image ID match", async () => {
    // Start from empty storage so the pull really downloads every layer.
    await ok(['buildah', 'rmi', '--all', '--force'])
    const ref = `${REG}/${alice.handle}/bimg:v1`
    const pull = await ok(podman('pull', ['--tls-verify=false', '--creds', creds(alice), ref]))
    note('podman pull by tag (3 layers)', pull.ms)
    expect(pull.stdout.trim().split('\n').pop()).toBe(buildahImageId)
    const [digest, id, repoDigests] = (await ok(['podman', 'image', 'inspect', '--format', '{{.Digest}}|{{.Id}}|{{join .RepoDigests ","}}', ref])).stdout.trim().split('|')
    expect(digest).toBe(buildahDigest)
    expect(id).toBe(buildahImageId)
    expect(repoDigests!.split(',')).toContain(`${REG}/${alice.handle}/bimg@${buildahDigest}`)
  }, CLIENT_TIMEOUT_MS)

  test("pull skopeo's image by digest, anonymously", async () => {
    const raw = await ok(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${REG}/${alice.handle}/app:v1`]))
    const digest = sha256(raw.bytes)
    const ref = `${REG}/${alice.handle}/app@${digest}`
    const pull = await ok(podman('pull', ['--tls-verify=false', ref]))
    note('podman pull by digest (anonymous)', pull.ms)
    expect((await ok(['podman', 'image', 'inspect', '--format', '{{.Digest}}', ref])).stdout.trim()).toBe(digest)
  }, CLIENT_TIMEOUT_MS)

  test('push a pulled image under a new name, pull it back', async () => {
    const dest = `${REG}/${alice.handle}/pimg:v1`
    const digestFile = join(work, 'podman.digest')
    const push = await ok(podman('push', ['--tls-verify=false', '--creds', creds(alice), '--digestfile', digestFile, `${REG}/${alice.handle}/bimg:v1`, `docker://${dest}`]))
    note('podman push (blobs exist in the hold)', push.ms)
    const digest = readFileSync(digestFile, 'utf8').trim()
    const raw = await ok(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${dest}`]))
    expect(sha256(raw.bytes)).toBe(digest)
    await ok(['podman', 'rmi', '--all', '--force'])
    await ok(podman('pull', ['--tls-verify=false', dest]))
    expect((await ok(['podman', 'image', 'inspect', '--format', '{{.Id}}', dest])).stdout.trim()).toBe(buildahImageId)
  }, CLIENT_TIMEOUT_MS)

  test('pulling a missing tag fails cleanly', async () => {
    const r = await run(podman('pull', ['--tls-verify=false', `${REG}/${alice.handle}/bimg:missing`]))
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/manifest unknown/i)
  }, CLIENT_TIMEOUT_MS)
})

// ---------------------------------------------------------------------------------------------------------------

describe('docker', () => {
  let docker: Docker
  const image = () => `${REG}/${alice.handle}/web`
  let pushedDigest = ''
  let builtId = ''

  const dok = async (args: string[], opts: { stdin?: string; timeoutMs?: number } = {}) => {
    const t = performance.now()
    const r = await docker(args, { timeoutMs: opts.timeoutMs ?? DOCKER_TIMEOUT_MS, stdin: opts.stdin })
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.code}:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`)
    return { ...r, ms: Math.round(performance.now() - t) }
  }
  const imageId = async (ref: string) => (await dok(['image', 'inspect', '--format', '{{.Id}}', ref])).stdout.trim()

  beforeAll(async () => {
    const t = performance.now()
    docker = (await startDockerd()).docker
    note('dockerd start (shared per run)', performance.now() - t)
  }, 120_000)

  afterAll(async () => {
    if (!docker) return
    // vfs keeps full copies: drop what this suite made so the engine stops quickly.
    const refs = (await docker(['images', '--format', '{{.Repository}}:{{.Tag}}|{{.ID}}'])).stdout.split('\n').filter((l) => l.startsWith(`${REG}/`))
    const ids = [...new Set(refs.map((l) => l.split('|')[1]!))]
    if (ids.length) await docker(['rmi', '-f', ...ids], { timeoutMs: 120_000 })
    await docker(['logout', REG], { timeoutMs: 30_000 })
  }, 180_000)

  test('docker login with an app password', async () => {
    const r = await dok(['login', REG, '-u', alice.handle, '--password-stdin'], { stdin: `${alice.appPw}\n` })
    note('docker login', r.ms)
    expect(r.stdout).toContain('Login Succeeded')
    const bad = await docker(['login', REG, '-u', alice.handle, '--password-stdin'], { stdin: 'wrong-password\n', timeoutMs: 60_000 })
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toMatch(/unauthorized|denied|password/i)
    // The failed attempt must not have replaced the stored good login.
    await dok(['login', REG, '-u', alice.handle, '--password-stdin'], { stdin: `${alice.appPw}\n` })
  }, DOCKER_TIMEOUT_MS)

  test('docker build FROM scratch (two COPY layers), tag, push', async () => {
    const ctx = join(work, 'docker-ctx')
    mkdirSync(ctx, { recursive: true })
    writeFileSync(join(ctx, 'payload.bin'), randomBytes(4 * 1024 * 1024))
    writeFileSync(join(ctx, 'hello.txt'), `hello from docker ${crypto.randomUUID()}\n`)
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY payload.bin /payload.bin\nCOPY hello.txt /hello.txt\nCMD ["/hello.txt"]\n')
    const build = await dok(['build', '--network=host', '-t', `${image()}:1`, ctx])
    note('docker build (FROM scratch, 4 MiB + small layer)', build.ms)
    builtId = await imageId(`${image()}:1`)
    expect((await dok(['image', 'inspect', '--format', '{{len .RootFS.Layers}}', builtId])).stdout.trim()).toBe('2')

    const push = await dok(['push', `${image()}:1`])
    note('docker push', push.ms)
    pushedDigest = /digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)?.[1] ?? ''
    expect(pushedDigest).toMatch(/^sha256:/)

    // What docker pushed is what the registry serves: exact bytes, Docker schema 2 media type.
    const m = await fetchManifest(alice, `${alice.handle}/web`, '1', ALL_TYPES)
    expect(m.status).toBe(200)
    expect(m.type).toBe(DOCKER_MANIFEST)
    expect(m.digest).toBe(pushedDigest)
    expect(sha256(m.bytes)).toBe(pushedDigest)
    const manifest = JSON.parse(new TextDecoder().decode(m.bytes))
    expect(manifest.layers).toHaveLength(2)
    expect(manifest.config.digest).toBe(builtId)
    expect((await dok(['image', 'inspect', '--format', '{{index .RepoDigests 0}}', `${image()}:1`])).stdout.trim()).toBe(`${image()}@${pushedDigest}`)
  }, DOCKER_TIMEOUT_MS)

  test('docker rmi, then pull by tag and by digest: the same image ID', async () => {
    await dok(['rmi', `${image()}:1`])
    expect((await docker(['image', 'inspect', builtId])).code).not.toBe(0)

    const byTag = await dok(['pull', `${image()}:1`])
    note('docker pull by tag', byTag.ms)
    expect(byTag.stdout).toContain(`Digest: ${pushedDigest}`)
    expect(await imageId(`${image()}:1`)).toBe(builtId)

    await dok(['rmi', `${image()}:1`])
    const byDigest = await dok(['pull', `${image()}@${pushedDigest}`])
    note('docker pull by digest', byDigest.ms)
    expect(await imageId(`${image()}@${pushedDigest}`)).toBe(builtId)
    expect((await dok(['image', 'inspect', '--format', '{{index .RepoDigests 0}}', builtId])).stdout.trim()).toBe(`${image()}@${pushedDigest}`)
  }, DOCKER_TIMEOUT_MS)

  test('a re-push of an unchanged image only re-puts the manifest; other clients read it', async () => {
    await dok(['tag', builtId, `${image()}:2`])
    const push = await dok(['push', `${image()}:2`])
    note('docker push, second tag (layers exist)', push.ms)
    expect(push.stdout).toMatch(/Layer already exists/)
    expect(push.stdout).toContain(`digest: ${pushedDigest}`)
    const tags = JSON.parse((await ok(skopeo(['list-tags', '--tls-verify=false', `docker://${image()}`]))).stdout)
    expect(tags.Tags).toEqual(['1', '2'])
  }, DOCKER_TIMEOUT_MS)

  test('a push to another repository re-uploads no layer', async () => {
    const web2 = `${REG}/${alice.handle}/web2:1`
    await dok(['tag', builtId, web2])
    const push = await dok(['push', web2])
    note('docker push to a new repository (layers exist)', push.ms)
    // Blobs are shared, content-addressed, in the hold: docker sees them as existing (or mounts them).
    const layerLines = push.stdout.split('\n').filter((l) => /^[0-9a-f]{12}: (?!Preparing|Waiting)/.test(l))
    expect(layerLines).toHaveLength(2)
    for (const l of layerLines) expect(l).toMatch(/Layer already exists|Mounted from/)
    expect(push.stdout).toContain(`digest: ${pushedDigest}`)
    const raw = await ok(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${web2}`]))
    expect(sha256(raw.bytes)).toBe(pushedDigest)
  }, DOCKER_TIMEOUT_MS)

  // The push of the same image to web2 above made web2 its own manifest record; web's is untouched.
  test('after the same image went to web2, web:1 still pulls', async () => {
    // docker pull asks the registry even when the image is local.
    const pull = await dok(['pull', `${image()}:1`])
    expect(pull.stdout).toContain(`Digest: ${pushedDigest}`)
    expect(await imageId(`${image()}:1`)).toBe(builtId)
  }, DOCKER_TIMEOUT_MS)

  test("alice's login cannot push into bob's namespace", async () => {
    const theirs = `${REG}/${bob.handle}/web:1`
    await dok(['tag', builtId, theirs])
    const r = await docker(['push', theirs], { timeoutMs: DOCKER_TIMEOUT_MS })
    expect(r.code).not.toBe(0)
    expect(r.stderr + r.stdout).toMatch(/denied|unauthorized/i)
    const m = await run(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${theirs}`]))
    expect(m.code).not.toBe(0)
    expect(m.stderr).toMatch(/manifest unknown/i)
  }, DOCKER_TIMEOUT_MS)

  test('docker pull of a tag that does not exist fails cleanly', async () => {
    const r = await docker(['pull', `${image()}:nope`], { timeoutMs: 60_000 })
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/manifest unknown|not found/i)
  }, DOCKER_TIMEOUT_MS)
})
