/**
 * The hold end to end against real parts: a real PLC + PDS (service tokens minted by getServiceAuth),
 * the hold as its own process on the fs driver, a real WebSocket firehose, a restart mid-test.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { P256Keypair, Secp256k1Keypair } from '@atproto/crypto'
import { decodeAll } from '@atproto/lex-cbor'
import { readCarWithRoot, verifyRecords, verifyRepoCar } from '@atproto/repo'
import { startHold, xrpc, type HoldProc } from '../harness/hold.ts'
import { startPds, type Pds, type TestUser } from '../harness/pds.ts'

const sha256 = (b: Uint8Array) => `sha256:${new Bun.CryptoHasher('sha256').update(b).digest('hex')}`
const blobPath = (dir: string, digest: string) => {
  const hex = digest.slice(7)
  return join(dir, 'blobs', 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data')
}
const MAX_PART = 1024 * 1024
const getJson = async (url: string): Promise<any> => (await fetch(url)).json()

let pds: Pds
let hold: HoldProc
let alice: TestUser // captain
let bob: TestUser // stranger
let carol: TestUser // crew with blob:write

const tok = (u: TestUser, lxm: string) => u.serviceToken(hold.did, lxm)

/** initiate -> PUT parts to the hold's signed URLs -> complete; returns the digest. */
async function pushBlob(u: TestUser, bytes: Uint8Array, partSize = 64 * 1024): Promise<string> {
  const digest = sha256(bytes)
  const init = await xrpc(hold.url, 'io.atcr.hold.initiateUpload', { token: await tok(u, 'io.atcr.hold.initiateUpload'), body: { digest } })
  expect(init.status).toBe(200)
  const parts: { partNumber: number; etag: string }[] = []
  for (let i = 0, n = 1; i < bytes.length; i += partSize, n++) {
    const url = await xrpc(hold.url, 'io.atcr.hold.getPartUploadUrl', {
      token: await tok(u, 'io.atcr.hold.getPartUploadUrl'),
      body: { uploadId: init.body.uploadId, partNumber: n },
    })
    expect(url.status).toBe(200)
    const put = await fetch(url.body.url, { method: url.body.method, body: bytes.subarray(i, i + partSize) })
    expect(put.status).toBe(200)
    parts.push({ partNumber: n, etag: put.headers.get('etag')! })
  }
  const done = await xrpc(hold.url, 'io.atcr.hold.completeUpload', {
    token: await tok(u, 'io.atcr.hold.completeUpload'),
    body: { uploadId: init.body.uploadId, digest, parts },
  })
  expect(done.body).toEqual({ status: 'completed', digest })
  return digest
}

beforeAll(async () => {
  pds = await startPds()
  ;[alice, bob, carol] = await Promise.all([pds.createUser('alice'), pds.createUser('bob'), pds.createUser('carol')])
  hold = await startHold({
    HOLD_REGISTRATION_OWNER_DID: alice.did,
    HOLD_DATABASE_PLC_DIRECTORY_URL: pds.plcUrl,
    HOLD_STORAGE_MAX_PART_SIZE: String(MAX_PART),
    HOLD_QUOTA_TIERS: '{deckhand: {quota: 300KB}}',
  })
}, 120_000)

afterAll(async () => {
  await hold?.stop()
})

describe('identity and public surface', () => {
  test('health, did.json, atproto-did', async () => {
    expect((await xrpc(hold.url, '_health')).body).toEqual({ version: expect.any(String) })
    const doc = await getJson(`${hold.url}/.well-known/did.json`)
    expect(doc.id).toBe(`did:web:127.0.0.1%3A${hold.port}`)
    expect(hold.did).toBe(doc.id)
    expect(doc.verificationMethod[0]).toMatchObject({ id: `${doc.id}#atproto`, type: 'Multikey' })
    expect(doc.service).toContainEqual({ id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: hold.url })
  })

  test('the README curls: captain and crew records, with the DID unencoded in the query', async () => {
    for (const repo of [hold.did, decodeURIComponent(hold.did)]) {
      const body = await getJson(`${hold.url}/xrpc/com.atproto.repo.listRecords?repo=${repo}&collection=io.atcr.hold.captain`)
      expect(body.records[0].value).toMatchObject({ $type: 'io.atcr.hold.captain', owner: alice.did, public: false, allowAllCrew: false })
    }
    const crew = await xrpc(hold.url, 'com.atproto.repo.listRecords', { params: { repo: hold.did, collection: 'io.atcr.hold.crew' } })
    expect(crew.body.records.map((r: any) => r.value.member)).toEqual([alice.did])
  })

  test('describeServer, describeRepo, getRecord, listRepos, getRepoStatus, resolveHandle', async () => {
    expect((await xrpc(hold.url, 'com.atproto.server.describeServer')).body.did).toBe(hold.did)
    const desc = await xrpc(hold.url, 'com.atproto.repo.describeRepo', { params: { repo: hold.did } })
    expect(desc.body.collections).toEqual(['io.atcr.hold.captain', 'io.atcr.hold.crew'])
    const rec = await xrpc(hold.url, 'com.atproto.repo.getRecord', { params: { repo: hold.did, collection: 'io.atcr.hold.captain', rkey: 'self' } })
    expect(rec.body.uri).toBe(`at://${hold.did}/io.atcr.hold.captain/self`)
    const missing = await xrpc(hold.url, 'com.atproto.repo.getRecord', { params: { repo: hold.did, collection: 'io.atcr.hold.captain', rkey: 'nope' } })
    expect(missing).toMatchObject({ status: 400, body: { error: 'RecordNotFound' } })
    const other = await xrpc(hold.url, 'com.atproto.repo.getRecord', { params: { repo: alice.did, collection: 'io.atcr.hold.captain', rkey: 'self' } })
    expect(other.body.error).toBe('RepoNotFound')
    const repos = await xrpc(hold.url, 'com.atproto.sync.listRepos')
    expect(repos.body.repos).toEqual([{ did: hold.did, head: expect.any(String), rev: expect.any(String), active: true }])
    expect((await xrpc(hold.url, 'com.atproto.sync.getRepoStatus', { params: { did: hold.did } })).body).toMatchObject({ did: hold.did, active: true })
    expect((await xrpc(hold.url, 'com.atproto.identity.resolveHandle', { params: { handle: `127.0.0.1:${hold.port}` } })).body.did).toBe(hold.did)
    expect((await xrpc(hold.url, 'com.atproto.nope.method')).status).toBe(501)
  })

  test('sync.getRepo is a CAR that verifyRepoCar accepts with the DID document key; getRecord proves a record', async () => {
    const doc = await getJson(`${hold.url}/.well-known/did.json`)
    const key = `did:key:${doc.verificationMethod[0].publicKeyMultibase}`
    const car = new Uint8Array(await (await fetch(`${hold.url}/xrpc/com.atproto.sync.getRepo?did=${encodeURIComponent(hold.did)}`)).arrayBuffer())
    const verified = await verifyRepoCar(car, hold.did, key)
    expect(verified.creates.map((c) => c.collection).sort()).toContain('io.atcr.hold.captain')
    const latest = await xrpc(hold.url, 'com.atproto.sync.getLatestCommit', { params: { did: hold.did } })
    expect((await readCarWithRoot(car)).root.toString()).toBe(latest.body.cid)
    const proof = new Uint8Array(
      await (await fetch(`${hold.url}/xrpc/com.atproto.sync.getRecord?did=${encodeURIComponent(hold.did)}&collection=io.atcr.hold.captain&rkey=self`)).arrayBuffer(),
    )
    const claims = await verifyRecords(proof, hold.did, key)
    expect(claims[0]).toMatchObject({ collection: 'io.atcr.hold.captain', rkey: 'self' })
  })
})

describe('crew management through putRecord/deleteRecord', () => {
  test('the captain adds carol; bob (not crew) cannot add himself; deleteRecord removes', async () => {
    const rec = (member: string) => ({ $type: 'io.atcr.hold.crew', member, role: 'write', permissions: ['blob:read', 'blob:write'], addedAt: new Date().toISOString() })
    const denied = await xrpc(hold.url, 'com.atproto.repo.putRecord', {
      token: await tok(bob, 'com.atproto.repo.putRecord'),
      body: { repo: hold.did, collection: 'io.atcr.hold.crew', rkey: bob.did, record: rec(bob.did) },
    })
    expect(denied.status).toBe(403)
    const badRecord = await xrpc(hold.url, 'com.atproto.repo.putRecord', {
      token: await tok(alice, 'com.atproto.repo.putRecord'),
      body: { repo: hold.did, collection: 'io.atcr.hold.crew', rkey: carol.did, record: { ...rec(carol.did), addedAt: 'yesterday' } },
    })
    expect(badRecord).toMatchObject({ status: 400, body: { error: 'InvalidRecord' } })
    const captainEdit = await xrpc(hold.url, 'com.atproto.repo.putRecord', {
      token: await tok(alice, 'com.atproto.repo.putRecord'),
      body: { repo: hold.did, collection: 'io.atcr.hold.captain', rkey: 'self', record: { owner: bob.did } },
    })
    expect(captainEdit.status).toBe(400)
    for (const who of [carol, bob]) {
      const ok = await xrpc(hold.url, 'com.atproto.repo.putRecord', {
        token: await tok(alice, 'com.atproto.repo.putRecord'),
        body: { repo: hold.did, collection: 'io.atcr.hold.crew', rkey: who.did, record: rec(who.did) },
      })
      expect(ok.status).toBe(200)
      expect(ok.body.uri).toBe(`at://${hold.did}/io.atcr.hold.crew/${who.did}`)
    }
    const del = await xrpc(hold.url, 'com.atproto.repo.deleteRecord', {
      token: await tok(alice, 'com.atproto.repo.deleteRecord'),
      body: { repo: hold.did, collection: 'io.atcr.hold.crew', rkey: bob.did },
    })
    expect(del.status).toBe(200)
    const crew = await xrpc(hold.url, 'com.atproto.repo.listRecords', { params: { repo: hold.did, collection: 'io.atcr.hold.crew' } })
    expect(crew.body.records.map((r: any) => r.value.member).sort()).toEqual([alice.did, carol.did].sort())
  })

  test('requestCrew is refused while allowAllCrew is off', async () => {
    const res = await xrpc(hold.url, 'io.atcr.hold.requestCrew', { token: await tok(bob, 'io.atcr.hold.requestCrew'), body: {} })
    expect(res).toMatchObject({ status: 403, body: { error: 'RegistrationDisabled' } })
    const captain = await xrpc(hold.url, 'io.atcr.hold.requestCrew', { token: await tok(alice, 'io.atcr.hold.requestCrew'), body: {} })
    expect(captain.body.status).toBe('already_member')
  })
})

describe('uploads and downloads', () => {
  let digest: string
  const bytes = crypto.getRandomValues(new Uint8Array(200 * 1024 + 17))

  test('multipart upload through signed part URLs, then getBlob redirects to the exact bytes', async () => {
    digest = await pushBlob(alice, bytes)
    expect(existsSync(blobPath(hold.dataDir, digest))).toBe(true)
    const res = await xrpc(hold.url, 'com.atproto.sync.getBlob', { token: await tok(alice, 'com.atproto.sync.getBlob'), params: { did: hold.did, cid: digest } })
    expect(res.status).toBe(307)
    const got = new Uint8Array(await (await fetch(res.res.headers.get('location')!)).arrayBuffer())
    expect(sha256(got)).toBe(digest)
    const head = await xrpc(hold.url, 'com.atproto.sync.getBlob', {
      method: 'HEAD',
      token: await tok(alice, 'com.atproto.sync.getBlob'),
      params: { did: hold.did, cid: digest },
    })
    expect(head.status).toBe(307)
    expect(head.res.headers.get('x-blob-size')).toBe(String(bytes.length))
    const headed = await fetch(head.res.headers.get('location')!, { method: 'HEAD' })
    expect(headed.headers.get('content-length')).toBe(String(bytes.length))
  })

  test('uploadPart streams a part through the hold; crew member carol can push', async () => {
    const data = crypto.getRandomValues(new Uint8Array(100_000))
    const d = sha256(data)
    const init = await xrpc(hold.url, 'io.atcr.hold.initiateUpload', { token: await tok(carol, 'io.atcr.hold.initiateUpload'), body: { digest: d } })
    const part = await xrpc(hold.url, 'io.atcr.hold.uploadPart', {
      method: 'PUT',
      token: await tok(carol, 'io.atcr.hold.uploadPart'),
      params: { uploadId: init.body.uploadId, partNumber: 1 },
      raw: data,
    })
    expect(part.status).toBe(200)
    const done = await xrpc(hold.url, 'io.atcr.hold.completeUpload', {
      token: await tok(carol, 'io.atcr.hold.completeUpload'),
      body: { uploadId: init.body.uploadId, digest: d, parts: [{ partNumber: 1, etag: part.body.etag }] },
    })
    expect(done.body.status).toBe('completed')
    expect(existsSync(blobPath(hold.dataDir, d))).toBe(true)
  })

  test('a digest mismatch at completion is refused and leaves nothing behind', async () => {
    const data = crypto.getRandomValues(new Uint8Array(5000))
    const claimed = sha256(new Uint8Array([1, 2, 3]))
    const init = await xrpc(hold.url, 'io.atcr.hold.initiateUpload', { token: await tok(alice, 'io.atcr.hold.initiateUpload'), body: { digest: claimed } })
    const part = await xrpc(hold.url, 'io.atcr.hold.uploadPart', {
      method: 'PUT',
      token: await tok(alice, 'io.atcr.hold.uploadPart'),
      params: { uploadId: init.body.uploadId, partNumber: 1 },
      raw: data,
    })
    const done = await xrpc(hold.url, 'io.atcr.hold.completeUpload', {
      token: await tok(alice, 'io.atcr.hold.completeUpload'),
      body: { uploadId: init.body.uploadId, digest: claimed, parts: [{ partNumber: 1, etag: part.body.etag }] },
    })
    expect(done).toMatchObject({ status: 400, body: { error: 'InvalidDigest' } })
    expect(existsSync(blobPath(hold.dataDir, claimed))).toBe(false)
    expect(existsSync(blobPath(hold.dataDir, sha256(data)))).toBe(false)
    expect(existsSync(join(hold.dataDir, 'blobs', 'docker/registry/v2/uploads', init.body.uploadId))).toBe(false)
    // The session is spent: retrying the same id is an unknown upload.
    const again = await xrpc(hold.url, 'io.atcr.hold.abortUpload', { token: await tok(alice, 'io.atcr.hold.abortUpload'), body: { uploadId: init.body.uploadId } })
    expect(again.body.error).toBe('InvalidUploadId')
  })

  test('abortUpload discards the upload', async () => {
    const d = sha256(new Uint8Array([9]))
    const init = await xrpc(hold.url, 'io.atcr.hold.initiateUpload', { token: await tok(alice, 'io.atcr.hold.initiateUpload'), body: { digest: d } })
    const res = await xrpc(hold.url, 'io.atcr.hold.abortUpload', { token: await tok(alice, 'io.atcr.hold.abortUpload'), body: { uploadId: init.body.uploadId } })
    expect(res.body).toEqual({ status: 'aborted' })
  })

  test('bad input is refused with the lexicon error names', async () => {
    const d = sha256(new Uint8Array([7]))
    const init = await xrpc(hold.url, 'io.atcr.hold.initiateUpload', { token: await tok(alice, 'io.atcr.hold.initiateUpload'), body: { digest: d } })
    const id = init.body.uploadId
    for (const partNumber of [0, 10001]) {
      const r = await xrpc(hold.url, 'io.atcr.hold.getPartUploadUrl', { token: await tok(alice, 'io.atcr.hold.getPartUploadUrl'), body: { uploadId: id, partNumber } })
      expect(r).toMatchObject({ status: 400, body: { error: 'InvalidPartNumber' } })
      const u = await xrpc(hold.url, 'io.atcr.hold.uploadPart', {
        method: 'PUT',
        token: await tok(alice, 'io.atcr.hold.uploadPart'),
        params: { uploadId: id, partNumber },
        raw: new Uint8Array([1]),
      })
      expect(u.body.error).toBe('InvalidPartNumber')
    }
    // Another user's upload id reads as unknown.
    const foreign = await xrpc(hold.url, 'io.atcr.hold.getPartUploadUrl', { token: await tok(carol, 'io.atcr.hold.getPartUploadUrl'), body: { uploadId: id, partNumber: 1 } })
    expect(foreign).toMatchObject({ status: 400, body: { error: 'InvalidUploadId' } })
    const foreignComplete = await xrpc(hold.url, 'io.atcr.hold.completeUpload', {
      token: await tok(carol, 'io.atcr.hold.completeUpload'),
      body: { uploadId: id, digest: d, parts: [{ partNumber: 1, etag: 'x' }] },
    })
    expect(foreignComplete.body.error).toBe('InvalidUploadId')
    // Oversize part through uploadPart: refused, and nothing is kept for that part.
    const big = await xrpc(hold.url, 'io.atcr.hold.uploadPart', {
      method: 'PUT',
      token: await tok(alice, 'io.atcr.hold.uploadPart'),
      params: { uploadId: id, partNumber: 1 },
      raw: new Uint8Array(MAX_PART + 1),
    })
    expect(big.status).toBe(413)
    const url = await xrpc(hold.url, 'io.atcr.hold.getPartUploadUrl', { token: await tok(alice, 'io.atcr.hold.getPartUploadUrl'), body: { uploadId: id, partNumber: 2 } })
    expect((await fetch(url.body.url, { method: 'PUT', body: new Uint8Array(MAX_PART + 1) })).status).toBe(413)
    // Neither oversize part was kept: completing with them fails as missing parts.
    const incomplete = await xrpc(hold.url, 'io.atcr.hold.completeUpload', {
      token: await tok(alice, 'io.atcr.hold.completeUpload'),
      body: { uploadId: id, digest: d, parts: [{ partNumber: 1, etag: '"x"' }, { partNumber: 2, etag: '"y"' }] },
    })
    expect(incomplete).toMatchObject({ status: 400, body: { error: 'MissingParts' } })
    for (const digest of ['sha256:ABC', 'sha256:' + 'A'.repeat(64), 'md5:' + 'a'.repeat(32), 'sha256:' + 'a'.repeat(63)]) {
      const r = await xrpc(hold.url, 'io.atcr.hold.initiateUpload', { token: await tok(alice, 'io.atcr.hold.initiateUpload'), body: { digest } })
      expect(r).toMatchObject({ status: 400, body: { error: 'InvalidDigest' } })
    }
    const badDid = await xrpc(hold.url, 'io.atcr.hold.getQuota', { token: await tok(alice, 'io.atcr.hold.getQuota'), params: { userDid: 'not-a-did' } })
    expect(badDid.status).toBe(400)
    const notJson = await xrpc(hold.url, 'io.atcr.hold.initiateUpload', { token: await tok(alice, 'io.atcr.hold.initiateUpload'), raw: '{', method: 'POST' })
    expect(notJson.status).toBe(400)
  })

  test('a stranger cannot push to or pull from the private hold', async () => {
    const d = sha256(new Uint8Array([5]))
    const push = await xrpc(hold.url, 'io.atcr.hold.initiateUpload', { token: await tok(bob, 'io.atcr.hold.initiateUpload'), body: { digest: d } })
    expect(push.status).toBe(403)
    const pull = await xrpc(hold.url, 'com.atproto.sync.getBlob', { token: await tok(bob, 'com.atproto.sync.getBlob'), params: { did: hold.did, cid: digest } })
    expect(pull.status).toBe(403)
    const anon = await xrpc(hold.url, 'com.atproto.sync.getBlob', { params: { did: hold.did, cid: digest } })
    expect(anon.status).toBe(401)
    expect(pull.res.headers.get('location')).toBeNull()
  })
})

describe('service tokens', () => {
  const body = { digest: sha256(new Uint8Array([42])) }

  test('missing, wrong-audience, wrong-method, expired and forged tokens are refused', async () => {
    expect((await xrpc(hold.url, 'io.atcr.hold.initiateUpload', { body })).body.error).toBe('AuthRequired')
    const wrongAud = await alice.serviceToken('did:web:elsewhere.example', 'io.atcr.hold.initiateUpload')
    expect(await xrpc(hold.url, 'io.atcr.hold.initiateUpload', { token: wrongAud, body })).toMatchObject({ status: 401, body: { error: 'BadJwtAudience' } })
    const wrongLxm = await alice.serviceToken(hold.did, 'io.atcr.hold.completeUpload')
    expect(await xrpc(hold.url, 'io.atcr.hold.initiateUpload', { token: wrongLxm, body })).toMatchObject({ status: 401, body: { error: 'BadJwtLexiconMethod' } })
    // Forged: a well-formed token claiming to be alice, signed by a key that is not hers.
    for (const kp of [await Secp256k1Keypair.create(), await P256Keypair.create()]) {
      const header = Buffer.from(JSON.stringify({ typ: 'JWT', alg: kp.jwtAlg })).toString('base64url')
      const now = Math.floor(Date.now() / 1000)
      const payload = Buffer.from(JSON.stringify({ iss: alice.did, aud: hold.did, lxm: 'io.atcr.hold.initiateUpload', iat: now, exp: now + 60 })).toString('base64url')
      const sig = Buffer.from(await kp.sign(new TextEncoder().encode(`${header}.${payload}`))).toString('base64url')
      const forged = await xrpc(hold.url, 'io.atcr.hold.initiateUpload', { token: `${header}.${payload}.${sig}`, body })
      expect(forged).toMatchObject({ status: 401, body: { error: 'BadJwtSignature' } })
    }
    const shortLived = await alice.serviceToken(hold.did, 'io.atcr.hold.initiateUpload', 1)
    await Bun.sleep(2100)
    expect(await xrpc(hold.url, 'io.atcr.hold.initiateUpload', { token: shortLived, body })).toMatchObject({ status: 401, body: { error: 'JwtExpired' } })
    expect((await xrpc(hold.url, 'io.atcr.hold.initiateUpload', { token: 'not.a.jwt', body })).status).toBe(401)
  })
})

describe('notifyManifest, stats and quotas', () => {
  const manifestOf = (blobs: { digest: string; size: number }[]) => ({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...blobs[0]! },
    layers: blobs.slice(1).map((b) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...b })),
  })

  test('push creates layer records and stats; pull bumps stats; quota applies to crew, not the captain', async () => {
    const a = await pushBlob(carol, crypto.getRandomValues(new Uint8Array(1000)))
    const b = await pushBlob(carol, crypto.getRandomValues(new Uint8Array(2000)))
    const md = sha256(new Uint8Array([1, 1, 1]))
    const push = await xrpc(hold.url, 'io.atcr.hold.notifyManifest', {
      token: await tok(carol, 'io.atcr.hold.notifyManifest'),
      body: { repository: 'app', userDid: carol.did, manifestDigest: md, tag: 'v1', manifest: manifestOf([{ digest: a, size: 1000 }, { digest: b, size: 2000 }]) },
    })
    expect(push.body).toMatchObject({ success: true, operation: 'push', statsUpdated: true, layersCreated: 2 })
    // A re-push of the same manifest adds no layer records.
    const again = await xrpc(hold.url, 'io.atcr.hold.notifyManifest', {
      token: await tok(carol, 'io.atcr.hold.notifyManifest'),
      body: { repository: 'app', userDid: carol.did, manifestDigest: md, manifest: manifestOf([{ digest: a, size: 1000 }, { digest: b, size: 2000 }]) },
    })
    expect(again.body.layersCreated).toBe(0)
    const quota = await xrpc(hold.url, 'io.atcr.hold.getQuota', { token: await tok(carol, 'io.atcr.hold.getQuota'), params: { userDid: carol.did } })
    expect(quota.body).toEqual({ userDid: carol.did, uniqueBlobs: 2, totalSize: 3000, tier: 'deckhand', limit: 300_000 })
    const tiers = await xrpc(hold.url, 'io.atcr.hold.listTiers')
    expect(tiers.body.tiers).toEqual([{ name: 'deckhand', quotaBytes: 300_000, quotaFormatted: '300 KB', scanOnPush: false }])

    const over = await xrpc(hold.url, 'io.atcr.hold.notifyManifest', {
      token: await tok(carol, 'io.atcr.hold.notifyManifest'),
      body: { repository: 'app', userDid: carol.did, manifestDigest: sha256(new Uint8Array([2])), manifest: manifestOf([{ digest: a, size: 1000 }, { digest: sha256(new Uint8Array([3])), size: 400_000 }]) },
    })
    expect(over).toMatchObject({ status: 400, body: { error: 'QuotaExceeded' } })
    expect((await xrpc(hold.url, 'io.atcr.hold.getQuota', { token: await tok(carol, 'io.atcr.hold.getQuota'), params: { userDid: carol.did } })).body.totalSize).toBe(3000)

    const captain = await xrpc(hold.url, 'io.atcr.hold.notifyManifest', {
      token: await tok(alice, 'io.atcr.hold.notifyManifest'),
      body: { repository: 'big', userDid: alice.did, manifestDigest: sha256(new Uint8Array([4])), manifest: manifestOf([{ digest: a, size: 1000 }, { digest: sha256(new Uint8Array([5])), size: 10_000_000 }]) },
    })
    expect(captain.body.success).toBe(true)

    const mismatch = await xrpc(hold.url, 'io.atcr.hold.notifyManifest', {
      token: await tok(carol, 'io.atcr.hold.notifyManifest'),
      body: { repository: 'app', userDid: alice.did, manifestDigest: md, manifest: manifestOf([{ digest: a, size: 1 }]) },
    })
    expect(mismatch).toMatchObject({ status: 403, body: { error: 'UserMismatch' } })
    expect((await xrpc(hold.url, 'io.atcr.hold.getQuota', { token: await tok(bob, 'io.atcr.hold.getQuota'), params: { userDid: carol.did } })).status).toBe(403)

    const pull = await xrpc(hold.url, 'io.atcr.hold.notifyManifest', {
      token: await tok(alice, 'io.atcr.hold.notifyManifest'),
      body: { repository: 'app', userDid: carol.did, manifestDigest: md, operation: 'pull', manifest: manifestOf([{ digest: a, size: 1000 }]) },
    })
    expect(pull.body).toMatchObject({ success: true, operation: 'pull' })
    const stats = await xrpc(hold.url, 'com.atproto.repo.listRecords', { params: { repo: hold.did, collection: 'io.atcr.hold.stats' } })
    const appStats = stats.body.records.map((r: any) => r.value).find((v: any) => v.repository === 'app')
    expect(appStats).toMatchObject({ ownerDid: carol.did, pushCount: 2, pullCount: 1 })
    const layers = await xrpc(hold.url, 'com.atproto.repo.listRecords', { params: { repo: hold.did, collection: 'io.atcr.hold.layer', limit: 100 } })
    expect(layers.body.records.filter((r: any) => r.value.userDid === carol.did)).toHaveLength(2)
  })
})

describe('firehose', () => {
  test('subscribeRepos replays commits from a cursor and streams new ones', async () => {
    const ws = new WebSocket(`${hold.url.replace('http', 'ws')}/xrpc/com.atproto.sync.subscribeRepos?cursor=0`)
    ws.binaryType = 'arraybuffer'
    const frames: { header: any; body: any }[] = []
    ws.onmessage = (ev) => {
      const [header, body] = [...decodeAll(new Uint8Array(ev.data as ArrayBuffer))] as any[]
      frames.push({ header, body })
    }
    await new Promise((r) => (ws.onopen = r))
    const waitFor = async (pred: () => boolean) => {
      for (let i = 0; i < 100 && !pred(); i++) await Bun.sleep(50)
    }
    await waitFor(() => frames.length >= 3)
    expect(frames[0]!.header).toEqual({ op: 1, t: '#commit' })
    expect(frames[0]!.body.seq).toBe(1)
    expect(frames.map((f) => f.body.seq)).toEqual(frames.map((_, i) => i + 1))
    const before = frames.length
    await xrpc(hold.url, 'io.atcr.hold.notifyManifest', {
      token: await tok(alice, 'io.atcr.hold.notifyManifest'),
      body: { repository: 'live', userDid: alice.did, manifestDigest: sha256(new Uint8Array([8])), operation: 'pull', manifest: { mediaType: 'application/vnd.oci.image.manifest.v1+json' } },
    })
    await waitFor(() => frames.length > before)
    const last = frames[frames.length - 1]!
    expect(last.body.repo).toBe(hold.did)
    expect(last.body.ops[0].path).toStartWith('io.atcr.hold.stats/')
    ws.close()

    const future = new WebSocket(`${hold.url.replace('http', 'ws')}/xrpc/com.atproto.sync.subscribeRepos?cursor=999999`)
    future.binaryType = 'arraybuffer'
    const err = await new Promise<any>((r) => (future.onmessage = (ev) => r([...decodeAll(new Uint8Array(ev.data as ArrayBuffer))])))
    expect(err).toEqual([{ op: -1 }, { error: 'FutureCursor', message: expect.any(String) }])
  })
})

describe('restart', () => {
  test('records, keys and finished blobs survive a restart', async () => {
    const docBefore = await getJson(`${hold.url}/.well-known/did.json`)
    const headBefore = (await xrpc(hold.url, 'com.atproto.sync.getLatestCommit', { params: { did: hold.did } })).body
    const data = crypto.getRandomValues(new Uint8Array(3000))
    const d = await pushBlob(alice, data)
    await hold.restart()
    const docAfter = await getJson(`${hold.url}/.well-known/did.json`)
    expect(docAfter).toEqual(docBefore)
    const headAfter = (await xrpc(hold.url, 'com.atproto.sync.getLatestCommit', { params: { did: hold.did } })).body
    expect(headAfter).toEqual(headBefore) // config unchanged: no captain re-sync commit
    const crew = await xrpc(hold.url, 'com.atproto.repo.listRecords', { params: { repo: hold.did, collection: 'io.atcr.hold.crew' } })
    expect(crew.body.records).toHaveLength(2)
    const res = await xrpc(hold.url, 'com.atproto.sync.getBlob', { token: await tok(alice, 'com.atproto.sync.getBlob'), params: { did: hold.did, cid: d } })
    expect(sha256(new Uint8Array(await (await fetch(res.res.headers.get('location')!)).arrayBuffer()))).toBe(d)
  }, 60_000)

  test('config changes are synced into the captain record at start', async () => {
    await hold.restart({ HOLD_SERVER_PUBLIC: 'true', HOLD_REGISTRATION_ALLOW_ALL_CREW: 'true' })
    const cap = await xrpc(hold.url, 'com.atproto.repo.getRecord', { params: { repo: hold.did, collection: 'io.atcr.hold.captain', rkey: 'self' } })
    expect(cap.body.value).toMatchObject({ owner: alice.did, public: true, allowAllCrew: true })
    // Public now: anonymous pull of an existing blob works; allowAllCrew: bob may join.
    const blobs = await xrpc(hold.url, 'com.atproto.repo.listRecords', { params: { repo: hold.did, collection: 'io.atcr.hold.layer' } })
    const some = blobs.body.records.find((r: any) => r.value.userDid === carol.did).value.digest
    expect((await xrpc(hold.url, 'com.atproto.sync.getBlob', { params: { did: hold.did, cid: some } })).status).toBe(307)
    const join = await xrpc(hold.url, 'io.atcr.hold.requestCrew', { token: await tok(bob, 'io.atcr.hold.requestCrew'), body: {} })
    expect(join.body.status).toBe('created')
    const member = await xrpc(hold.url, 'com.atproto.repo.getRecord', { params: { repo: hold.did, collection: 'io.atcr.hold.crew', rkey: bob.did } })
    expect(member.body.value).toMatchObject({ member: bob.did, permissions: ['blob:read', 'blob:write'], tier: 'deckhand' })
  }, 60_000)
})
