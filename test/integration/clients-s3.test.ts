/**
 * docker push/pull through the AppView to a hold whose storage is a real S3 server (Ceph radosgw, which checks
 * SigV4 signatures: test/harness/radosgw.ts). Bytes go up through the AppView into the hold's S3 multipart upload
 * (a 20 MiB layer is three 8 MiB parts) and come down from radosgw itself: the AppView answers blob GETs with a
 * 307 to a presigned radosgw URL. Checked from outside: the redirect target, the object in the bucket under the
 * distribution layout key, and its bytes.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { AwsClient } from 'aws4fetch'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Docker, startDockerd } from '../harness/dockerd.ts'
import { makeImage } from '../harness/oci-layout.ts'
import { registryToken, type Stack, startStack, type StackUser } from '../harness/stack.ts'

const STACK_TIMEOUT_MS = 240_000
const DOCKER_TIMEOUT_MS = 300_000
const LAYER_BYTES = 20 * 1024 * 1024

const sha256 = (b: Uint8Array) => `sha256:${new Bun.CryptoHasher('sha256').update(b).digest('hex')}`
const blobKey = (digest: string) => `docker/registry/v2/blobs/sha256/${digest.slice(7, 9)}/${digest.slice(7)}/data`

let stack: Stack
let REG: string
let alice: StackUser
let docker: Docker
let s3: { endpoint: string; bucket: string; aws: AwsClient }
const work = mkdtempSync(join(tmpdir(), 'atcr-clients-s3-'))
const timings: [string, number][] = []
const note = (what: string, ms: number) => timings.push([what, Math.round(ms)])

async function dok(args: string[], opts: { stdin?: string; timeoutMs?: number } = {}) {
  const t = performance.now()
  const r = await docker(args, { timeoutMs: opts.timeoutMs ?? DOCKER_TIMEOUT_MS, stdin: opts.stdin })
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.code}:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`)
  return { ...r, ms: Math.round(performance.now() - t) }
}
const imageId = async (ref: string) => (await dok(['image', 'inspect', '--format', '{{.Id}}', ref])).stdout.trim()

async function token(scope: string): Promise<string> {
  return registryToken(stack, alice, scope)
}

beforeAll(async () => {
  let t = performance.now()
  stack = await startStack({ s3: true })
  REG = stack.registry
  alice = stack.alice
  const env = stack.hold.env
  s3 = {
    endpoint: env.S3_ENDPOINT!,
    bucket: env.S3_BUCKET!,
    aws: new AwsClient({ accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY!, service: 's3', region: env.AWS_REGION! }),
  }
  note('stack start (radosgw, PLC+PDS, s3 hold, AppView)', performance.now() - t)
  t = performance.now()
  docker = (await startDockerd()).docker
  note('dockerd start (shared per run)', performance.now() - t)
}, STACK_TIMEOUT_MS)

afterAll(async () => {
  if (docker && REG) {
    const lines = (await docker(['images', '--format', '{{.Repository}}|{{.ID}}'])).stdout.split('\n').filter((l) => l.startsWith(`${REG}/`))
    const ids = [...new Set(lines.map((l) => l.split('|')[1]!))]
    if (ids.length) await docker(['rmi', '-f', ...ids], { timeoutMs: 120_000 })
    await docker(['logout', REG], { timeoutMs: 30_000 })
  }
  rmSync(work, { recursive: true, force: true })
  console.log(`clients (s3 hold) timings:\n${timings.map(([w, ms]) => `  ${w.padEnd(58)} ${String(ms).padStart(6)} ms`).join('\n')}`)
}, 180_000)

describe('docker against an S3 (radosgw) hold', () => {
  const image = () => `${REG}/${alice.handle}/web`
  let builtId = ''
  let pushedDigest = ''
  let manifest: { config: { digest: string; size: number }; layers: { digest: string; size: number }[] }

  test('login, build (a 20 MiB layer + a small one), push', async () => {
    const login = await dok(['login', REG, '-u', alice.handle, '--password-stdin'], { stdin: `${alice.appPw}\n` })
    expect(login.stdout).toContain('Login Succeeded')

    const ctx = join(work, 'ctx')
    mkdirSync(ctx, { recursive: true })
    writeFileSync(join(ctx, 'payload.bin'), randomBytes(LAYER_BYTES))
    writeFileSync(join(ctx, 'hello.txt'), `hello from docker on s3 ${crypto.randomUUID()}\n`)
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY payload.bin /payload.bin\nCOPY hello.txt /hello.txt\nCMD ["/hello.txt"]\n')
    const build = await dok(['build', '--network=host', '-t', `${image()}:1`, ctx])
    note('docker build (FROM scratch, 20 MiB + small layer)', build.ms)
    builtId = await imageId(`${image()}:1`)

    const push = await dok(['push', `${image()}:1`])
    note('docker push (20 MiB layer => 3 multipart parts)', push.ms)
    pushedDigest = /digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)?.[1] ?? ''
    expect(pushedDigest).toMatch(/^sha256:/)

    const t = await token(`repository:${alice.handle}/web:pull`)
    const res = await fetch(`${stack.appview.url}/v2/${alice.handle}/web/manifests/1`, {
      headers: { authorization: `Bearer ${t}`, accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('docker-content-digest')).toBe(pushedDigest)
    const bytes = new Uint8Array(await res.arrayBuffer())
    expect(sha256(bytes)).toBe(pushedDigest)
    manifest = JSON.parse(new TextDecoder().decode(bytes))
    expect(manifest.layers).toHaveLength(2)
    expect(manifest.config.digest).toBe(builtId)
    // The 20 MiB of random bytes barely compress: the first layer really is bigger than two parts.
    expect(manifest.layers[0]!.size).toBeGreaterThan(16 * 1024 * 1024)
  }, DOCKER_TIMEOUT_MS)

  test('blob GETs redirect (307) to presigned radosgw URLs; the objects are in the bucket, byte for byte', async () => {
    const t = await token(`repository:${alice.handle}/web:pull`)
    const endpoint = new URL(s3.endpoint)
    for (const d of [manifest.config, ...manifest.layers]) {
      const res = await fetch(`${stack.appview.url}/v2/${alice.handle}/web/blobs/${d.digest}`, {
        headers: { authorization: `Bearer ${t}` },
        redirect: 'manual',
      })
      await res.arrayBuffer()
      expect(res.status).toBe(307)
      const loc = new URL(res.headers.get('location')!)
      expect(loc.origin).toBe(endpoint.origin)
      expect(loc.pathname).toBe(`/${s3.bucket}/${blobKey(d.digest)}`)
      expect(loc.searchParams.get('X-Amz-Signature')).toBeTruthy()

      // The presigned URL works without any other credentials, and serves exactly the blob.
      const tt = performance.now()
      const got = await fetch(loc)
      const body = new Uint8Array(await got.arrayBuffer())
      if (d === manifest.layers[0]) note('GET 20 MiB layer from radosgw (presigned)', performance.now() - tt)
      expect(got.status).toBe(200)
      expect(body.length).toBe(d.size)
      expect(sha256(body)).toBe(d.digest)

      // And the object is in the bucket under the distribution layout key (asked of S3 directly, signed).
      const head = await s3.aws.fetch(`${s3.endpoint}/${s3.bucket}/${blobKey(d.digest)}`, { method: 'HEAD' })
      expect(head.status).toBe(200)
      expect(Number(head.headers.get('content-length'))).toBe(d.size)
    }
    // Nothing went to the hold's local disk.
    expect(existsSync(join(stack.hold.dataDir, 'docker'))).toBe(false)
    expect(existsSync(join(stack.hold.dataDir, 'blobs'))).toBe(false)
  }, DOCKER_TIMEOUT_MS)

  test('docker rmi, pull by tag and by digest: the same image ID', async () => {
    await dok(['rmi', `${image()}:1`])
    expect((await docker(['image', 'inspect', builtId])).code).not.toBe(0)
    const byTag = await dok(['pull', `${image()}:1`])
    note('docker pull by tag (from radosgw)', byTag.ms)
    expect(byTag.stdout).toContain(`Digest: ${pushedDigest}`)
    expect(await imageId(`${image()}:1`)).toBe(builtId)

    await dok(['rmi', `${image()}:1`])
    const byDigest = await dok(['pull', `${image()}@${pushedDigest}`])
    note('docker pull by digest (from radosgw)', byDigest.ms)
    expect(await imageId(`${image()}@${pushedDigest}`)).toBe(builtId)
    expect((await dok(['image', 'inspect', '--format', '{{index .RepoDigests 0}}', builtId])).stdout.trim()).toBe(`${image()}@${pushedDigest}`)
  }, DOCKER_TIMEOUT_MS)

  test('skopeo round trip on the same S3 hold', async () => {
    const img = makeImage(join(work, 'img'), { layers: 2, layerBytes: 256 * 1024 })
    const ref = `docker://${REG}/${alice.handle}/app:v1`
    const run = async (args: string[]) => {
      const p = Bun.spawn(['skopeo', ...args], { stdout: 'pipe', stderr: 'pipe', env: { ...process.env, REGISTRY_AUTH_FILE: join(work, 'auth.json') } })
      const [out, err, code] = await Promise.all([new Response(p.stdout).arrayBuffer(), new Response(p.stderr).text(), p.exited])
      if (code !== 0) throw new Error(`skopeo ${args.join(' ')} exited ${code}: ${err}`)
      return new Uint8Array(out)
    }
    writeFileSync(join(work, 'auth.json'), JSON.stringify({ auths: {} }))
    let t = performance.now()
    await run(['copy', '--dest-creds', `${alice.handle}:${alice.appPw}`, '--dest-tls-verify=false', `oci:${img.dir}:latest`, ref])
    note('skopeo copy up (2 x 256 KiB layers)', performance.now() - t)
    expect(sha256(await run(['inspect', '--raw', '--tls-verify=false', ref]))).toBe(img.manifestDigest)
    t = performance.now()
    await run(['copy', '--src-tls-verify=false', ref, `oci:${join(work, 'down')}:v1`])
    note('skopeo copy down', performance.now() - t)
    for (const d of img.layerDigests) {
      const head = await s3.aws.fetch(`${s3.endpoint}/${s3.bucket}/${blobKey(d)}`, { method: 'HEAD' })
      expect(head.status).toBe(200)
    }
  }, DOCKER_TIMEOUT_MS)
})
