/**
 * The hold on a real S3 server (Ceph radosgw, which checks SigV4): configured through the AWS environment names,
 * parts uploaded straight to presigned UploadPart URLs, the digest verified by the hold, downloads redirected to
 * presigned GETs on the bucket.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { S3Driver } from '../../src/hold/storage/s3.ts'
import { startHold, xrpc, type HoldProc } from '../harness/hold.ts'
import { startPds, type TestUser } from '../harness/pds.ts'
import { startRadosgw, type RadosgwInfo } from '../harness/radosgw.ts'

const sha256 = (b: Uint8Array) => `sha256:${new Bun.CryptoHasher('sha256').update(b).digest('hex')}`
const MiB = 1024 * 1024

let s3: RadosgwInfo
let hold: HoldProc
let alice: TestUser
let bucket: S3Driver

beforeAll(async () => {
  const [pds, rgw] = await Promise.all([startPds(), startRadosgw()])
  s3 = rgw
  alice = await pds.createUser('s3alice')
  hold = await startHold({
    HOLD_REGISTRATION_OWNER_DID: alice.did,
    HOLD_DATABASE_PLC_DIRECTORY_URL: pds.plcUrl,
    AWS_ACCESS_KEY_ID: s3.accessKey,
    AWS_SECRET_ACCESS_KEY: s3.secretKey,
    AWS_REGION: s3.region,
    S3_BUCKET: s3.bucket,
    S3_ENDPOINT: s3.endpoint,
  })
  bucket = new S3Driver({ endpoint: s3.endpoint, region: s3.region, bucket: s3.bucket, accessKey: s3.accessKey, secretKey: s3.secretKey })
}, 120_000)

afterAll(() => hold?.stop())

async function upload(bytes: Uint8Array, claimed = sha256(bytes)) {
  const tok = (lxm: string) => alice.serviceToken(hold.did, lxm)
  const init = await xrpc(hold.url, 'io.atcr.hold.initiateUpload', { token: await tok('io.atcr.hold.initiateUpload'), body: { digest: claimed } })
  expect(init.status).toBe(200)
  const parts: { partNumber: number; etag: string }[] = []
  for (let off = 0, n = 1; off < bytes.length; off += 5 * MiB, n++) {
    const u = await xrpc(hold.url, 'io.atcr.hold.getPartUploadUrl', { token: await tok('io.atcr.hold.getPartUploadUrl'), body: { uploadId: init.body.uploadId, partNumber: n } })
    expect(new URL(u.body.url).origin).toBe(new URL(s3.endpoint).origin)
    const put = await fetch(u.body.url, { method: 'PUT', body: bytes.subarray(off, off + 5 * MiB) })
    expect(put.status).toBe(200)
    parts.push({ partNumber: n, etag: put.headers.get('etag')! })
  }
  return xrpc(hold.url, 'io.atcr.hold.completeUpload', { token: await tok('io.atcr.hold.completeUpload'), body: { uploadId: init.body.uploadId, digest: claimed, parts } })
}

test('the hold picks the s3 driver from S3_BUCKET and uploads land content-addressed in the bucket', async () => {
  expect(hold.log()).toContain('storage=s3')
  const bytes = crypto.getRandomValues(new Uint8Array(5 * MiB + 12345))
  const digest = sha256(bytes)
  const done = await upload(bytes)
  expect(done.body).toEqual({ status: 'completed', digest })
  const hex = digest.slice(7)
  expect(await bucket.stat(`docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`)).toEqual({ size: bytes.length })
  const keys: string[] = []
  for await (const o of bucket.list('docker/registry/v2/uploads/')) keys.push(o.key)
  expect(keys).toEqual([])

  const get = await xrpc(hold.url, 'com.atproto.sync.getBlob', { token: await alice.serviceToken(hold.did, 'com.atproto.sync.getBlob'), params: { did: hold.did, cid: digest } })
  expect(get.status).toBe(307)
  const location = get.res.headers.get('location')!
  expect(location).toContain('X-Amz-Signature=')
  const body = new Uint8Array(await (await fetch(location)).arrayBuffer())
  expect(sha256(body)).toBe(digest)
  // A tampered presigned URL is refused by the S3 server itself.
  const tampered = location.replace(/X-Amz-Signature=([0-9a-f])/, (_, c) => `X-Amz-Signature=${c === 'a' ? 'b' : 'a'}`)
  expect((await fetch(tampered)).status).toBe(403)
}, 60_000)

test('a digest mismatch on S3 is refused and leaves no object behind', async () => {
  const bytes = crypto.getRandomValues(new Uint8Array(1000))
  const claimed = sha256(new Uint8Array([0xde, 0xad]))
  const done = await upload(bytes, claimed)
  expect(done).toMatchObject({ status: 400, body: { error: 'InvalidDigest' } })
  for (const d of [claimed, sha256(bytes)]) {
    const hex = d.slice(7)
    expect(await bucket.stat(`docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`)).toBeNull()
  }
  const keys: string[] = []
  for await (const o of bucket.list('docker/registry/v2/uploads/')) keys.push(o.key)
  expect(keys).toEqual([])
}, 60_000)
