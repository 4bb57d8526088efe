/**
 * The OCI Distribution API of the AppView, request by request, against the real stack (PDS, hold, AppView):
 * token auth, every upload style, manifests and their records in the user's PDS, tags, referrers, catalog,
 * and bad input answered with the spec's error codes, leaving stored data unchanged.
 */
import { beforeAll, describe, expect, test } from 'bun:test'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { startAppview } from '../harness/hold.ts'
import { registryToken, startStack, type Stack, type StackUser } from '../harness/stack.ts'

const sha256 = (b: Uint8Array | string) => `sha256:${new Bun.CryptoHasher('sha256').update(b).digest('hex')}`
const enc = (s: string) => new TextEncoder().encode(s)
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'

let s: Stack
let alice: StackUser
let bob: StackUser

async function api(path: string, init: RequestInit & { token?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers)
  if (init.token) headers.set('authorization', `Bearer ${init.token}`)
  return fetch(`${s.appview.url}${path}`, { ...init, headers, redirect: 'manual' })
}

const errCode = async (res: Response) => ((await res.json()) as { errors: { code: string }[] }).errors[0]!.code
const name = (u: StackUser, repo: string) => `${u.handle}/${repo}`
const push = (u: StackUser, repo: string) => registryToken(s, u, `repository:${name(u, repo)}:pull,push,delete`)

async function uploadBlob(token: string, n: string, bytes: Uint8Array): Promise<string> {
  const digest = sha256(bytes)
  const res = await api(`/v2/${n}/blobs/uploads/?digest=${digest}`, { method: 'POST', token, body: bytes, headers: { 'content-type': 'application/octet-stream' } })
  expect(res.status).toBe(201)
  return digest
}

function imageManifest(config: { digest: string; size: number }, layers: { digest: string; size: number }[], extra: Record<string, unknown> = {}) {
  return enc(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...l })),
      ...extra,
    }),
  )
}

/** Uploads a config and one layer, then PUTs a manifest under `ref`. */
async function pushImage(u: StackUser, repo: string, ref: string, seed = crypto.randomUUID()) {
  const token = await push(u, repo)
  const config = enc(JSON.stringify({ architecture: 'amd64', os: 'linux', seed }))
  const layer = crypto.getRandomValues(new Uint8Array(3000))
  const cd = await uploadBlob(token, name(u, repo), config)
  const ld = await uploadBlob(token, name(u, repo), layer)
  const manifest = imageManifest({ digest: cd, size: config.length }, [{ digest: ld, size: layer.length }])
  const res = await api(`/v2/${name(u, repo)}/manifests/${ref}`, { method: 'PUT', token, body: manifest, headers: { 'content-type': OCI_MANIFEST } })
  expect(res.status).toBe(201)
  return { token, manifest, digest: sha256(manifest), layerDigest: ld, configDigest: cd }
}

async function pdsRecord(u: StackUser, collection: string, rkey: string): Promise<any> {
  const res = await fetch(`${s.pds.pdsUrl}/xrpc/com.atproto.repo.getRecord?repo=${u.did}&collection=${collection}&rkey=${encodeURIComponent(rkey)}`)
  return res.ok ? ((await res.json()) as any).value : null
}

beforeAll(async () => {
  s = await startStack()
  alice = s.alice
  bob = s.bob
}, 120_000)

describe('auth', () => {
  test('GET /v2/ challenges with the token realm; a token opens it', async () => {
    const res = await api('/v2/')
    expect(res.status).toBe(401)
    const ch = res.headers.get('www-authenticate')!
    expect(ch).toContain(`realm="${s.appview.url}/auth/token"`)
    expect(ch).toContain(`service="${s.registry}"`)
    expect(await errCode(res)).toBe('UNAUTHORIZED')
    const ok = await api('/v2/', { token: await registryToken(s, alice, []) })
    expect(ok.status).toBe(200)
    expect(ok.headers.get('docker-distribution-api-version')).toBe('registry/2.0')
    expect((await api('/v2/', { token: 'garbage.token.here' })).status).toBe(401)
  })

  test('wrong app password is 401; anonymous tokens pull only; push only in your own namespace', async () => {
    const bad = await fetch(`${s.appview.url}/auth/token?service=${s.registry}`, {
      headers: { authorization: `Basic ${Buffer.from(`${alice.handle}:wrong-pass-word`).toString('base64')}` },
    })
    expect(bad.status).toBe(401)
    const claims = (t: string) => JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString())
    const anon = claims(await registryToken(s, null, `repository:${name(alice, 'app')}:pull,push`))
    expect(anon.access).toEqual([{ type: 'repository', name: name(alice, 'app'), actions: ['pull'] }])
    const bobOnAlice = claims(await registryToken(s, bob, `repository:${name(alice, 'app')}:pull,push,delete`))
    expect(bobOnAlice.access[0].actions).toEqual(['pull'])
    const own = claims(await registryToken(s, alice, `repository:${name(alice, 'app')}:pull,push`))
    expect(own.access[0].actions.sort()).toEqual(['pull', 'push'])
    expect(own.sub).toBe(alice.did)
    // The first login created alice's sailor profile pointing at the AppView's default hold.
    expect(await pdsRecord(alice, 'io.atcr.sailor.profile', 'self')).toMatchObject({ defaultHold: s.hold.did })
    // DIDs work as the namespace too.
    const byDid = claims(await registryToken(s, alice, `repository:${alice.did}/app:push`))
    expect(byDid.access[0].actions).toEqual(['push'])
  })

  test('OAuth2 password grant with access_type=offline returns a refresh token that mints new tokens', async () => {
    const form = (p: Record<string, string>) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(p).toString() })
    const res = await fetch(
      `${s.appview.url}/auth/token`,
      form({ grant_type: 'password', username: alice.handle, password: alice.appPw, service: s.registry, scope: `repository:${name(alice, 'x')}:pull,push`, access_type: 'offline', client_id: 'test' }),
    )
    const body = (await res.json()) as any
    expect(res.status).toBe(200)
    expect(body.refresh_token).toBeString()
    expect(body.scope).toBe(`repository:${name(alice, 'x')}:pull,push`)
    const again = (await (await fetch(`${s.appview.url}/auth/token`, form({ grant_type: 'refresh_token', refresh_token: body.refresh_token, service: s.registry, scope: `repository:${name(alice, 'x')}:push` }))).json()) as any
    expect(again.access_token).toBeString()
    const badRefresh = await fetch(`${s.appview.url}/auth/token`, form({ grant_type: 'refresh_token', refresh_token: 'nope', service: s.registry }))
    expect(badRefresh.status).toBe(401)
  })

  test('a token without push cannot write; bob cannot delete alice’s tag', async () => {
    const { digest } = await pushImage(alice, 'guarded', 'v1')
    const pullOnly = await registryToken(s, bob, `repository:${name(alice, 'guarded')}:pull,push,delete`)
    const put = await api(`/v2/${name(alice, 'guarded')}/manifests/v1`, { method: 'PUT', token: pullOnly, body: '{}', headers: { 'content-type': OCI_MANIFEST } })
    expect(put.status).toBe(401)
    expect(put.headers.get('www-authenticate')).toContain('insufficient_scope')
    const del = await api(`/v2/${name(alice, 'guarded')}/manifests/v1`, { method: 'DELETE', token: pullOnly })
    expect(del.status).toBe(401)
    const up = await api(`/v2/${name(alice, 'guarded')}/blobs/uploads/`, { method: 'POST', token: pullOnly })
    expect(up.status).toBe(401)
    const still = await api(`/v2/${name(alice, 'guarded')}/manifests/v1`, { method: 'HEAD', token: pullOnly })
    expect(still.headers.get('docker-content-digest')).toBe(digest)
  })
})

describe('uploads', () => {
  test('POST then PUT, chunked PATCH with ranges, status, and 416 for an out-of-order chunk', async () => {
    const n = name(alice, 'chunks')
    const token = await push(alice, 'chunks')
    const data = crypto.getRandomValues(new Uint8Array(300_000))
    const start = await api(`/v2/${n}/blobs/uploads/`, { method: 'POST', token })
    expect(start.status).toBe(202)
    const loc = start.headers.get('location')!
    expect(loc).toStartWith(`/v2/${n}/blobs/uploads/`)
    expect(start.headers.get('docker-upload-uuid')).toBeString()
    const c1 = await api(loc, { method: 'PATCH', token, body: data.subarray(0, 100_000), headers: { 'content-range': '0-99999', 'content-type': 'application/octet-stream' } })
    expect(c1.status).toBe(202)
    expect(c1.headers.get('range')).toBe('0-99999')
    const wrong = await api(loc, { method: 'PATCH', token, body: data.subarray(150_000, 160_000), headers: { 'content-range': '150000-159999' } })
    expect(wrong.status).toBe(416)
    const status = await api(loc, { token })
    expect(status.status).toBe(204)
    expect(status.headers.get('range')).toBe('0-99999')
    const c2 = await api(loc, { method: 'PATCH', token, body: data.subarray(100_000, 250_000) })
    expect(c2.headers.get('range')).toBe('0-249999')
    const done = await api(`${loc}?digest=${sha256(data)}`, { method: 'PUT', token, body: data.subarray(250_000) })
    expect(done.status).toBe(201)
    expect(done.headers.get('docker-content-digest')).toBe(sha256(data))
    const head = await api(`/v2/${n}/blobs/${sha256(data)}`, { method: 'HEAD', token })
    expect(head.status).toBe(200)
    expect(head.headers.get('content-length')).toBe('300000')
    const get = await api(`/v2/${n}/blobs/${sha256(data)}`, { token })
    expect(get.status).toBe(307)
    const bytes = new Uint8Array(await (await fetch(get.headers.get('location')!)).arrayBuffer())
    expect(sha256(bytes)).toBe(sha256(data))
  })

  test('a blob larger than one part streams through in several parts', async () => {
    const n = name(alice, 'big')
    const token = await push(alice, 'big')
    const data = crypto.getRandomValues(new Uint8Array(20 * 1024 * 1024 + 123))
    const start = await api(`/v2/${n}/blobs/uploads/`, { method: 'POST', token })
    const done = await api(`${start.headers.get('location')}?digest=${sha256(data)}`, { method: 'PUT', token, body: data })
    expect(done.status).toBe(201)
    expect((await api(`/v2/${n}/blobs/${sha256(data)}`, { method: 'HEAD', token })).headers.get('content-length')).toBe(String(data.length))
  }, 60_000)

  test('PATCHes that end mid-part: the partial part waits in memory, or on disk once tail_memory is spent', async () => {
    // The shared AppView keeps tails in memory; a second one on the same PDS and hold has no tail memory at all.
    const own = new Set(['APPVIEW_SERVER_ADDR', 'APPVIEW_SERVER_BASE_URL', 'APPVIEW_DATABASE_PATH'])
    const spooling = await startAppview({ ...Object.fromEntries(Object.entries(s.appview.env).filter(([k]) => !own.has(k))), APPVIEW_UPLOADS_TAIL_MEMORY: '0' })
    try {
      for (const av of [s.appview, spooling]) {
        const n = name(alice, 'tails')
        const token = await registryToken({ ...s, appview: av }, alice, `repository:${n}:pull,push`)
        const call = (path: string, init: RequestInit = {}) =>
          fetch(new URL(path, av.url), { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) }, redirect: 'manual' })
        const MiB = 1024 * 1024
        const data = crypto.getRandomValues(new Uint8Array(12 * MiB + 7))
        let loc = (await call(`/v2/${n}/blobs/uploads/`, { method: 'POST' })).headers.get('location')!
        // 4 MiB per PATCH against 5 MiB parts: every request ends with part of a part left over.
        for (let off = 0; off < 12 * MiB; off += 4 * MiB) {
          const res = await call(loc, { method: 'PATCH', body: data.subarray(off, off + 4 * MiB), headers: { 'content-range': `${off}-${off + 4 * MiB - 1}` } })
          expect(res.status).toBe(202)
          expect(res.headers.get('range')).toBe(`0-${off + 4 * MiB - 1}`)
          loc = res.headers.get('location')!
        }
        const spooled = readdirSync(join(av.dataDir, 'uploads'))
        expect(spooled).toHaveLength(av === spooling ? 1 : 0)
        const done = await call(`${loc}?digest=${sha256(data)}`, { method: 'PUT', body: data.subarray(12 * MiB) })
        expect(done.status).toBe(201)
        expect(readdirSync(join(av.dataDir, 'uploads'))).toEqual([])
        const get = await call(`/v2/${n}/blobs/${sha256(data)}`)
        expect(get.status).toBe(307)
        expect(sha256(new Uint8Array(await (await fetch(get.headers.get('location')!)).arrayBuffer()))).toBe(sha256(data))
      }
    } finally {
      await spooling.stop()
    }
  }, 60_000)

  test('a wrong digest is DIGEST_INVALID and leaves no blob', async () => {
    const n = name(alice, 'bad')
    const token = await push(alice, 'bad')
    const data = crypto.getRandomValues(new Uint8Array(1000))
    const claimed = sha256('something else')
    const res = await api(`/v2/${n}/blobs/uploads/?digest=${claimed}`, { method: 'POST', token, body: data })
    expect(res.status).toBe(400)
    expect(await errCode(res)).toBe('DIGEST_INVALID')
    for (const d of [claimed, sha256(data)]) expect((await api(`/v2/${n}/blobs/${d}`, { method: 'HEAD', token })).status).toBe(404)
  })

  test('malformed digests and names are refused with the spec codes', async () => {
    const token = await push(alice, 'bad')
    for (const d of [`sha256:${'A'.repeat(64)}`, `sha256:${'a'.repeat(63)}`, `md5:${'a'.repeat(32)}`, 'sha256:']) {
      const res = await api(`/v2/${name(alice, 'bad')}/blobs/${d}`, { method: 'GET', token })
      expect(res.status).toBe(400)
      expect(await errCode(res)).toBe('DIGEST_INVALID')
    }
    for (const n of [`${alice.handle}/${'x'.repeat(256)}`, `${alice.handle}/UPPER`, `${alice.handle}//x`, `${alice.handle}/-x`]) {
      const res = await api(`/v2/${n}/tags/list`, { token })
      expect(res.status).toBe(400)
      expect(await errCode(res)).toBe('NAME_INVALID')
    }
    // `..`: the token endpoint grants nothing for such a name, and the server's URL parsing resolves the segment
    // before routing (curl --path-as-is sends it raw), so it can only ever name another repository, refused.
    const dotted = `${alice.handle}/a/../b`
    const claims = JSON.parse(Buffer.from((await registryToken(s, alice, `repository:${dotted}:pull,push`)).split('.')[1]!, 'base64url').toString())
    expect(claims.access).toEqual([])
    const p = Bun.spawnSync(['curl', '-s', '--path-as-is', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'PUT', '-H', `authorization: Bearer ${token}`, '--data', '{}', `${s.appview.url}/v2/${dotted}/manifests/v1`])
    expect(['400', '401']).toContain(p.stdout.toString())
    const unknownUser = await api(`/v2/nobody-here.test/app/tags/list`, { token })
    expect(await errCode(unknownUser)).toBe('NAME_UNKNOWN')
  })

  test('upload sessions are bound to their repository and user; DELETE cancels', async () => {
    const tokenA = await push(alice, 'repo-a')
    const start = await api(`/v2/${name(alice, 'repo-a')}/blobs/uploads/`, { method: 'POST', token: tokenA })
    const uuid = start.headers.get('docker-upload-uuid')!
    const tokenB = await push(alice, 'repo-b')
    const other = await api(`/v2/${name(alice, 'repo-b')}/blobs/uploads/${uuid}`, { method: 'PATCH', token: tokenB, body: 'x' })
    expect(await errCode(other)).toBe('BLOB_UPLOAD_UNKNOWN')
    const bobToken = await push(bob, 'repo-a')
    const asBob = await api(`/v2/${name(bob, 'repo-a')}/blobs/uploads/${uuid}`, { method: 'PATCH', token: bobToken, body: 'x' })
    expect(await errCode(asBob)).toBe('BLOB_UPLOAD_UNKNOWN')
    expect((await api(`/v2/${name(alice, 'repo-a')}/blobs/uploads/${uuid}`, { method: 'DELETE', token: tokenA })).status).toBe(204)
    expect((await api(`/v2/${name(alice, 'repo-a')}/blobs/uploads/${uuid}`, { token: tokenA })).status).toBe(404)
  })

  test('cross-repository mount: 201 from a pullable repo, an upload session otherwise', async () => {
    const src = await pushImage(alice, 'mount-src', 'v1')
    const token = await registryToken(s, alice, [`repository:${name(alice, 'mount-dst')}:pull,push`, `repository:${name(alice, 'mount-src')}:pull`])
    const ok = await api(`/v2/${name(alice, 'mount-dst')}/blobs/uploads/?mount=${src.layerDigest}&from=${name(alice, 'mount-src')}`, { method: 'POST', token })
    expect(ok.status).toBe(201)
    expect(ok.headers.get('docker-content-digest')).toBe(src.layerDigest)
    // The token does not carry pull on the source: no mount, a plain upload session instead.
    const noPull = await push(alice, 'mount-dst')
    const refused = await api(`/v2/${name(alice, 'mount-dst')}/blobs/uploads/?mount=${src.layerDigest}&from=${name(alice, 'mount-src')}`, { method: 'POST', token: noPull })
    expect(refused.status).toBe(202)
    const unknown = await api(`/v2/${name(alice, 'mount-dst')}/blobs/uploads/?mount=${sha256('absent')}`, { method: 'POST', token })
    expect(unknown.status).toBe(202)
  })
})

describe('manifests', () => {
  test('PUT by tag writes the records to the user’s PDS; GET/HEAD by tag and digest return the exact bytes', async () => {
    const img = await pushImage(alice, 'web', '1.0')
    const get = await api(`/v2/${name(alice, 'web')}/manifests/1.0`, { token: img.token, headers: { accept: OCI_MANIFEST } })
    expect(get.status).toBe(200)
    expect(get.headers.get('content-type')).toBe(OCI_MANIFEST)
    expect(get.headers.get('docker-content-digest')).toBe(img.digest)
    expect(new Uint8Array(await get.arrayBuffer())).toEqual(img.manifest)
    const byDigest = await api(`/v2/${name(alice, 'web')}/manifests/${img.digest}`, { method: 'HEAD', token: img.token })
    expect(byDigest.headers.get('content-length')).toBe(String(img.manifest.length))
    // Records keyed by repository + digest hex (manifest) and repository + tag (tag).
    const rec = await pdsRecord(alice, 'io.atcr.manifest', `web:${img.digest.slice(7)}`)
    expect(rec).toMatchObject({ $type: 'io.atcr.manifest', repository: 'web', digest: img.digest, mediaType: OCI_MANIFEST, schemaVersion: 2, holdDid: s.hold.did })
    expect(rec.layers[0].digest).toBe(img.layerDigest)
    expect(rec.manifestBlob.ref.$link).toBeString()
    const tag = await pdsRecord(alice, 'io.atcr.tag', 'web:1.0')
    expect(tag).toMatchObject({ repository: 'web', tag: '1.0', manifest: `at://${alice.did}/io.atcr.manifest/web:${img.digest.slice(7)}` })
    // Anonymous pulls work on a public hold; the hold recorded layers for the quota.
    const anon = await registryToken(s, null, `repository:${name(alice, 'web')}:pull`)
    expect((await api(`/v2/${name(alice, 'web')}/manifests/1.0`, { token: anon })).status).toBe(200)
    expect((await api(`/v2/${alice.did}/web/manifests/1.0`, { token: await registryToken(s, null, `repository:${alice.did}/web:pull`) })).status).toBe(200)
  })

  test('Accept negotiation: an OCI manifest is not served to a client that only takes docker types', async () => {
    const img = await pushImage(alice, 'accept', 'v1')
    const res = await api(`/v2/${name(alice, 'accept')}/manifests/v1`, { token: img.token, headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' } })
    expect(res.status).toBe(404)
    expect(await errCode(res)).toBe('MANIFEST_UNKNOWN')
    const any = await api(`/v2/${name(alice, 'accept')}/manifests/v1`, { token: img.token, headers: { accept: '*/*' } })
    expect(any.status).toBe(200)
  })

  test('bad manifests are refused and the tag keeps pointing at the old manifest', async () => {
    const old = await pushImage(alice, 'keep', 'v1')
    const n = name(alice, 'keep')
    const put = (body: Uint8Array | string, ref = 'v1', type = OCI_MANIFEST) =>
      api(`/v2/${n}/manifests/${ref}`, { method: 'PUT', token: old.token, body, headers: { 'content-type': type } })
    const missing = imageManifest({ digest: old.configDigest, size: 10 }, [{ digest: sha256('never uploaded'), size: 5 }])
    const r1 = await put(missing)
    expect(r1.status).toBe(400)
    expect(await errCode(r1)).toBe('MANIFEST_BLOB_UNKNOWN')
    const r2 = await put('{not json')
    expect(await errCode(r2)).toBe('MANIFEST_INVALID')
    const r3 = await put(new Uint8Array(4 * 1024 * 1024 + 1))
    expect(r3.status).toBe(413)
    const r4 = await put(old.manifest, sha256('other bytes'))
    expect(await errCode(r4)).toBe('DIGEST_INVALID')
    const r5 = await put(enc(JSON.stringify({ schemaVersion: 1, name: 'x' })), 'v1', 'application/vnd.docker.distribution.manifest.v1+json')
    expect(await errCode(r5)).toBe('MANIFEST_INVALID')
    const r6 = await put(old.manifest, 'bad tag!')
    expect(r6.status).toBe(400)
    const still = await api(`/v2/${n}/manifests/v1`, { method: 'HEAD', token: old.token })
    expect(still.headers.get('docker-content-digest')).toBe(old.digest)
  })

  test('an index must reference manifests already in the repository', async () => {
    const a = await pushImage(alice, 'multi', 'amd64')
    const index = (digests: string[]) =>
      enc(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          manifests: digests.map((d, i) => ({ mediaType: OCI_MANIFEST, digest: d, size: a.manifest.length, platform: { architecture: i ? 'arm64' : 'amd64', os: 'linux' } })),
        }),
      )
    const bad = await api(`/v2/${name(alice, 'multi')}/manifests/latest`, { method: 'PUT', token: a.token, body: index([a.digest, sha256('missing')]), headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' } })
    expect(await errCode(bad)).toBe('MANIFEST_BLOB_UNKNOWN')
    const ok = await api(`/v2/${name(alice, 'multi')}/manifests/latest`, { method: 'PUT', token: a.token, body: index([a.digest]), headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' } })
    expect(ok.status).toBe(201)
    const rec = await pdsRecord(alice, 'io.atcr.manifest', `multi:${sha256(index([a.digest])).slice(7)}`)
    expect(rec.manifests[0]).toMatchObject({ digest: a.digest, platform: { architecture: 'amd64', os: 'linux' } })
  })

  test('tags/list paginates with n and last and a Link header; DELETE tag and manifest', async () => {
    const n = name(alice, 'tagged')
    const img = await pushImage(alice, 'tagged', 'a')
    for (const t of ['b', 'c', 'd']) {
      const r = await api(`/v2/${n}/manifests/${t}`, { method: 'PUT', token: img.token, body: img.manifest, headers: { 'content-type': OCI_MANIFEST } })
      expect(r.status).toBe(201)
    }
    const all = (await (await api(`/v2/${n}/tags/list`, { token: img.token })).json()) as any
    expect(all).toEqual({ name: n, tags: ['a', 'b', 'c', 'd'] })
    const p1 = await api(`/v2/${n}/tags/list?n=2`, { token: img.token })
    expect(((await p1.json()) as any).tags).toEqual(['a', 'b'])
    expect(p1.headers.get('link')).toBe(`</v2/${n}/tags/list?n=2&last=b>; rel="next"`)
    const p2 = (await (await api(`/v2/${n}/tags/list?n=2&last=b`, { token: img.token })).json()) as any
    expect(p2.tags).toEqual(['c', 'd'])
    expect((await api(`/v2/${n}/tags/list?n=-1`, { token: img.token })).status).toBe(400)

    expect((await api(`/v2/${n}/manifests/d`, { method: 'DELETE', token: img.token })).status).toBe(202)
    expect((await api(`/v2/${n}/manifests/d`, { method: 'HEAD', token: img.token })).status).toBe(404)
    expect((await api(`/v2/${n}/manifests/${img.digest}`, { method: 'DELETE', token: img.token })).status).toBe(202)
    expect((await api(`/v2/${n}/manifests/a`, { method: 'HEAD', token: img.token })).status).toBe(404)
    // Nothing left in the repository: it is unknown now.
    expect(await errCode(await api(`/v2/${n}/tags/list`, { token: img.token }))).toBe('NAME_UNKNOWN')
  })

  test('referrers: OCI-Subject on PUT, listing with artifactType filter', async () => {
    const base = await pushImage(alice, 'signed', 'v1')
    const n = name(alice, 'signed')
    const empty = enc('{}')
    const emptyDigest = await uploadBlob(base.token, n, empty)
    const sigLayer = enc('signature bytes')
    const sigDigest = await uploadBlob(base.token, n, sigLayer)
    const artifact = enc(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: 'application/vnd.example.signature',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: emptyDigest, size: 2 },
        layers: [{ mediaType: 'application/octet-stream', digest: sigDigest, size: sigLayer.length }],
        subject: { mediaType: OCI_MANIFEST, digest: base.digest, size: base.manifest.length },
        annotations: { 'org.example': 'yes' },
      }),
    )
    const put = await api(`/v2/${n}/manifests/${sha256(artifact)}`, { method: 'PUT', token: base.token, body: artifact, headers: { 'content-type': OCI_MANIFEST } })
    expect(put.status).toBe(201)
    expect(put.headers.get('oci-subject')).toBe(base.digest)
    const list = await api(`/v2/${n}/referrers/${base.digest}`, { token: base.token })
    expect(list.headers.get('content-type')).toBe('application/vnd.oci.image.index.v1+json')
    const idx = (await list.json()) as any
    expect(idx.manifests).toEqual([
      { mediaType: OCI_MANIFEST, digest: sha256(artifact), size: artifact.length, artifactType: 'application/vnd.example.signature', annotations: { 'org.example': 'yes' } },
    ])
    const filtered = await api(`/v2/${n}/referrers/${base.digest}?artifactType=application/other`, { token: base.token })
    expect(filtered.headers.get('oci-filters-applied')).toBe('artifactType')
    expect(((await filtered.json()) as any).manifests).toEqual([])
  })

  test('catalog lists pushed repositories with pagination and a capped n', async () => {
    const token = await registryToken(s, alice, 'registry:catalog:*')
    const res = await api('/v2/_catalog?n=2', { token })
    const body = (await res.json()) as any
    expect(body.repositories).toHaveLength(2)
    expect(res.headers.get('link')).toContain('/v2/_catalog?n=2&last=')
    const all = (await (await api('/v2/_catalog', { token })).json()) as any
    expect(all.repositories).toContain(name(alice, 'web'))
    expect([...all.repositories].sort()).toEqual(all.repositories)
    expect(await errCode(await api('/v2/_catalog?n=100000', { token }))).toBe('PAGINATION_NUMBER_INVALID')
  })
})

describe('private hold and quotas', () => {
  test('pulls from a private hold need crew blob:read; a quota refusal leaves the tag unchanged', async () => {
    const priv = await startStack({ publicHold: false, allowAllCrew: false, holdEnv: { HOLD_QUOTA_TIERS: '{tiny: {quota: 10KB}}' } })
    const owner = priv.alice
    const n = `${owner.handle}/private`
    const token = await registryToken(priv, owner, `repository:${n}:pull,push`)
    const layer = crypto.getRandomValues(new Uint8Array(2000))
    const res = await fetch(`${priv.appview.url}/v2/${n}/blobs/uploads/?digest=${sha256(layer)}`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: layer })
    expect(res.status).toBe(201)
    const blobUrl = `${priv.appview.url}/v2/${n}/blobs/${sha256(layer)}`
    expect((await fetch(blobUrl, { headers: { authorization: `Bearer ${token}` }, redirect: 'manual' })).status).toBe(307)
    const anon = await registryToken(priv, null, `repository:${n}:pull`)
    const anonRes = await fetch(blobUrl, { headers: { authorization: `Bearer ${anon}` }, redirect: 'manual' })
    expect(anonRes.status).toBe(403)
    expect(await errCode(anonRes)).toBe('DENIED')
    const stranger = await registryToken(priv, priv.bob, `repository:${n}:pull`)
    expect((await fetch(blobUrl, { headers: { authorization: `Bearer ${stranger}` }, redirect: 'manual' })).status).toBe(403)
    // bob is not crew and the hold does not let anyone join: his pushes are refused by the hold.
    const bobN = `${priv.bob.handle}/mine`
    const bobToken = await registryToken(priv, priv.bob, `repository:${bobN}:pull,push`)
    const bobPush = await fetch(`${priv.appview.url}/v2/${bobN}/blobs/uploads/?digest=${sha256(layer)}`, { method: 'POST', headers: { authorization: `Bearer ${bobToken}` }, body: layer })
    expect(bobPush.status).toBe(403)

    // carol is crew on the 10 KB tier: a push over it is refused by the hold and her tag stays where it was.
    const carol = await priv.user('carol')
    const crewRes = await fetch(`${priv.hold.url}/xrpc/com.atproto.repo.putRecord`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await owner.serviceToken(priv.hold.did, 'com.atproto.repo.putRecord')}` },
      body: JSON.stringify({
        repo: priv.hold.did,
        collection: 'io.atcr.hold.crew',
        rkey: carol.did,
        record: { member: carol.did, role: 'write', permissions: ['blob:read', 'blob:write'], tier: 'tiny', addedAt: new Date().toISOString() },
      }),
    })
    expect(crewRes.status).toBe(200)
    const cn = `${carol.handle}/app`
    const ct = await registryToken(priv, carol, `repository:${cn}:pull,push`)
    const pushAs = async (layerSize: number) => {
      const config = enc(JSON.stringify({ architecture: 'amd64', os: 'linux', n: layerSize }))
      const layer = crypto.getRandomValues(new Uint8Array(layerSize))
      for (const b of [config, layer]) {
        const r = await fetch(`${priv.appview.url}/v2/${cn}/blobs/uploads/?digest=${sha256(b)}`, { method: 'POST', headers: { authorization: `Bearer ${ct}` }, body: b })
        expect(r.status).toBe(201)
      }
      const m = imageManifest({ digest: sha256(config), size: config.length }, [{ digest: sha256(layer), size: layer.length }])
      const r = await fetch(`${priv.appview.url}/v2/${cn}/manifests/v1`, { method: 'PUT', headers: { authorization: `Bearer ${ct}`, 'content-type': OCI_MANIFEST }, body: m })
      return { res: r, digest: sha256(m) }
    }
    const small = await pushAs(2000)
    expect(small.res.status).toBe(201)
    const big = await pushAs(12_000)
    expect(big.res.status).toBe(403)
    expect(JSON.stringify(await big.res.json())).toContain('quota')
    const head = await fetch(`${priv.appview.url}/v2/${cn}/manifests/v1`, { method: 'HEAD', headers: { authorization: `Bearer ${ct}` } })
    expect(head.headers.get('docker-content-digest')).toBe(small.digest)
    expect(await pdsRecord(carol, 'io.atcr.manifest', `app:${big.digest.slice(7)}`)).toBeNull()
  }, 120_000)
})

describe('wire compatibility', () => {
  test('images whose records another client wrote with TID keys (as the original atcr does) are pullable', async () => {
    const n = name(alice, 'foreign')
    const token = await push(alice, 'foreign')
    const config = enc(JSON.stringify({ architecture: 'arm64', os: 'linux' }))
    const layer = crypto.getRandomValues(new Uint8Array(1500))
    const cd = await uploadBlob(token, n, config)
    const ld = await uploadBlob(token, n, layer)
    const manifest = imageManifest({ digest: cd, size: config.length }, [{ digest: ld, size: layer.length }])
    const digest = sha256(manifest)
    // Written straight to alice's PDS, the way the original AppView stores an image: TID record keys.
    const agent = alice.agent
    const blob = await agent.com.atproto.repo.uploadBlob(manifest, { encoding: OCI_MANIFEST })
    const m = await agent.com.atproto.repo.createRecord({
      repo: alice.did,
      collection: 'io.atcr.manifest',
      record: {
        $type: 'io.atcr.manifest', repository: 'foreign', digest, mediaType: OCI_MANIFEST, schemaVersion: 2, createdAt: new Date().toISOString(),
        holdDid: s.hold.did, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cd, size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: ld, size: layer.length }], manifestBlob: blob.data.blob,
      },
      validate: false,
    })
    await agent.com.atproto.repo.createRecord({
      repo: alice.did,
      collection: 'io.atcr.tag',
      record: { $type: 'io.atcr.tag', repository: 'foreign', tag: 'v9', manifest: m.data.uri, createdAt: new Date().toISOString() },
      validate: false,
    })
    for (const ref of ['v9', digest]) {
      const res = await api(`/v2/${n}/manifests/${ref}`, { token })
      expect(res.status).toBe(200)
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(manifest)
    }
    expect(((await (await api(`/v2/${n}/tags/list`, { token })).json()) as any).tags).toEqual(['v9'])
  })
})
