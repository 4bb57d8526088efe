import { describe, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { QuotaBook } from '../../src/hold/quota.ts'
import { UploadLimitError, UploadSessions } from '../../src/hold/uploads.ts'
import { crewRkey } from '../../src/hold/crew.ts'
import { statsRkey } from '../../src/hold/xrpc/io/atcr/hold/notifyManifest.ts'
import { digestFromBlobParam } from '../../src/hold/xrpc/com/atproto/sync/getBlob.ts'
import { blobKey, uploadKey } from '../../src/hold/storage/driver.ts'
import { didWebFromUrl } from '../../src/hold/identity.ts'

describe('upload sessions', () => {
  const make = () => new UploadSessions(new Database(':memory:'), { ttlSeconds: 60, maxPerUser: 2 })
  const base = { digest: `sha256:${'a'.repeat(64)}`, key: 'k', storageUploadId: 's' }

  test('bound to their creator, expire, and are capped per user', () => {
    const u = make()
    const t0 = 1_000_000
    const a = u.create({ ...base, id: UploadSessions.newId(), did: 'did:plc:alice' }, t0)
    expect(u.get(a.id, 'did:plc:alice', t0 + 1000)?.id).toBe(a.id)
    expect(u.get(a.id, 'did:plc:bob', t0 + 1000)).toBeNull()
    expect(u.get(a.id, 'did:plc:alice', t0 + 61_000)).toBeNull()
    u.create({ ...base, id: UploadSessions.newId(), did: 'did:plc:alice' }, t0)
    expect(() => u.create({ ...base, id: UploadSessions.newId(), did: 'did:plc:alice' }, t0)).toThrow(UploadLimitError)
    // Other users are not affected by alice's cap; expired sessions free her slots.
    u.create({ ...base, id: UploadSessions.newId(), did: 'did:plc:bob' }, t0)
    u.create({ ...base, id: UploadSessions.newId(), did: 'did:plc:alice' }, t0 + 61_000)
    const expired = u.takeExpired(t0 + 61_000)
    expect(expired.map((s) => s.did).sort()).toEqual(['did:plc:alice', 'did:plc:alice', 'did:plc:bob'])
    expect(u.takeExpired(t0 + 61_000)).toEqual([])
  })

  test('ids are unguessable and fit the storage key rules', () => {
    const ids = new Set(Array.from({ length: 100 }, () => UploadSessions.newId()))
    expect(ids.size).toBe(100)
    for (const id of ids) expect(() => uploadKey(id)).not.toThrow()
  })
})

describe('quota book', () => {
  test('usage counts each digest once per user; usageWith adds only new digests', () => {
    const q = new QuotaBook(new Database(':memory:'), [{ name: 'deckhand', quotaBytes: 5000, scanOnPush: false }], undefined)
    const layer = (rkey: string, userDid: string, digest: string, size: number, manifest = 'at://m/1') => ({
      action: 'create' as const,
      collection: 'io.atcr.hold.layer',
      rkey,
      record: { userDid, digest, size, manifest },
    })
    q.onCommit([layer('1', 'did:plc:a', 'sha256:x', 100), layer('2', 'did:plc:a', 'sha256:x', 100, 'at://m/2'), layer('3', 'did:plc:a', 'sha256:y', 50), layer('4', 'did:plc:b', 'sha256:x', 100)])
    expect(q.usage('did:plc:a')).toEqual({ uniqueBlobs: 2, totalSize: 150 })
    expect(q.usage('did:plc:b')).toEqual({ uniqueBlobs: 1, totalSize: 100 })
    expect(q.usageWith('did:plc:a', [{ digest: 'sha256:x', size: 100 }, { digest: 'sha256:z', size: 7 }, { digest: 'sha256:z', size: 7 }])).toEqual({ uniqueBlobs: 3, totalSize: 157 })
    q.onCommit([{ action: 'delete', collection: 'io.atcr.hold.layer', rkey: '3' }])
    expect(q.usage('did:plc:a').totalSize).toBe(100)
    expect(q.hasLayer('did:plc:a', 'at://m/2', 'sha256:x')).toBe(true)
    expect(q.tier(undefined)?.name).toBeUndefined()
    expect(q.tier('deckhand')?.quotaBytes).toBe(5000)
  })
})

describe('names and keys', () => {
  test('did:web from URLs encodes the port', () => {
    expect(didWebFromUrl('https://hold.example.com')).toBe('did:web:hold.example.com')
    expect(didWebFromUrl('http://localhost:8080/')).toBe('did:web:localhost%3A8080')
  })
  test('blob keys use the distribution layout and reject non-sha256 digests', () => {
    expect(blobKey(`sha256:${'ab'.repeat(32)}`)).toBe(`docker/registry/v2/blobs/sha256/ab/${'ab'.repeat(32)}/data`)
    expect(() => blobKey('sha256:../../etc')).toThrow()
    expect(() => uploadKey('../x')).toThrow()
  })
  test('getBlob accepts a digest or a sha256 CID for the same content', () => {
    const d = `sha256:${'0'.repeat(63)}1`
    expect(digestFromBlobParam(d)).toBe(d)
    // raw-codec CIDv1 of sha256(""), as a PDS names blobs
    expect(digestFromBlobParam('bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku')).toBe(
      'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    )
    expect(digestFromBlobParam('not-a-cid')).toBeNull()
    expect(digestFromBlobParam('sha512:abc')).toBeNull()
  })
  test('crew rkeys are the DID when valid as a key; stats rkeys are deterministic', () => {
    expect(crewRkey('did:plc:abc')).toBe('did:plc:abc')
    expect(crewRkey('did:web:host%3A8080')).toMatch(/^m-[0-9a-f]{32}$/)
    expect(statsRkey('did:plc:a', 'app')).toBe(statsRkey('did:plc:a', 'app'))
    expect(statsRkey('did:plc:a', 'app')).not.toBe(statsRkey('did:plc:a', 'app2'))
    expect(statsRkey('did:plc:a', 'app')).toMatch(/^[a-z2-7]{26}$/)
  })
})
