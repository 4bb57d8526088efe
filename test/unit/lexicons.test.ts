import { describe, expect, test } from 'bun:test'
import { BlobRef, parseLexiconDoc } from '@atproto/lexicon'
import { CID } from 'multiformats/cid'
import { join, relative } from 'node:path'

import {
  assertXrpcInput,
  assertXrpcOutput,
  assertXrpcParams,
  LEXICON_DOCS,
  lexicons,
  RECORD_COLLECTIONS,
  RecordValidationError,
  validateRecord,
  XrpcValidationError,
} from '../../src/atproto/lexicons.ts'
import { NSID } from '../../src/atproto/records.ts'
import { XrpcError } from '../../src/atproto/xrpc-error.ts'

const LEXICON_DIR = join(import.meta.dir, '../../lexicons')
const NOW = '2025-11-02T10:20:30.000Z'
const DID = 'did:plc:ewvi7nxzyoun6zhxrhs64oiz'
const HOLD_DID = 'did:web:hold01.atcr.example'
const DIGEST = `sha256:${'ab'.repeat(32)}`
const MANIFEST_URI = `at://${DID}/io.atcr.manifest/3lbd2w4c3zs2k`
const BLOB_CID = 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'
const jsonBlob = (mimeType: string) => ({ $type: 'blob' as const, ref: { $link: BLOB_CID }, mimeType, size: 1234 })

/** One valid example of every record collection. */
const EXAMPLES: Record<string, Record<string, unknown>> = {
  'io.atcr.manifest': {
    repository: 'web',
    digest: DIGEST,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    schemaVersion: 2,
    createdAt: NOW,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: 1469, digest: DIGEST },
    layers: [
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size: 3_623_807, digest: DIGEST },
      {
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        size: 12,
        digest: DIGEST,
        urls: ['https://example.com/layer'],
        annotations: { 'org.opencontainers.image.title': 'x' },
      },
    ],
    holdDid: HOLD_DID,
    annotations: { 'org.opencontainers.image.source': 'https://example.com/src' },
    manifestBlob: jsonBlob('application/vnd.oci.image.manifest.v1+json'),
  },
  'io.atcr.tag': { repository: 'web', tag: 'latest', manifest: MANIFEST_URI, createdAt: NOW },
  'io.atcr.sailor.profile': { defaultHold: HOLD_DID, autoRemoveUntagged: true, createdAt: NOW, updatedAt: NOW },
  'io.atcr.sailor.star': { subject: `at://${DID}/io.atcr.repo.page/web`, createdAt: NOW },
  'io.atcr.sailor.webhook': { holdDid: HOLD_DID, triggers: 0x01 | 0x08, privateCid: BLOB_CID, createdAt: NOW },
  'io.atcr.repo.page': {
    repository: 'web',
    description: '# Web\n\nA web server.',
    avatar: jsonBlob('image/png'),
    createdAt: NOW,
    updatedAt: NOW,
  },
  'io.atcr.hold': { endpoint: 'https://hold.example.com', owner: DID, createdAt: NOW },
  'io.atcr.hold.captain': {
    owner: DID,
    public: true,
    allowAllCrew: false,
    enableBlueskyPosts: false,
    deployedAt: NOW,
    region: 'us-east-1',
  },
  'io.atcr.hold.crew': { member: DID, role: 'write', permissions: ['blob:read', 'blob:write'], addedAt: NOW },
  'io.atcr.hold.layer': {
    digest: DIGEST,
    size: 42,
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    manifest: MANIFEST_URI,
    userDid: DID,
    createdAt: NOW,
  },
  'io.atcr.hold.stats': { ownerDid: DID, repository: 'web', pullCount: 0, pushCount: 3, lastPush: NOW, updatedAt: NOW },
  'io.atcr.hold.scan': {
    manifest: MANIFEST_URI,
    repository: 'web',
    userDid: DID,
    critical: 0,
    high: 1,
    medium: 2,
    low: 3,
    total: 6,
    scannerVersion: 'atcr-scanner-v1.0.0',
    scannedAt: NOW,
    sbomBlob: jsonBlob('application/spdx+json'),
  },
  'io.atcr.hold.webhook': { url: 'https://example.com/hook', secret: 's3cret', triggers: 8, userDid: DID, createdAt: NOW },
}

function expectRecordError(collection: string, record: unknown, pattern: RegExp, rkey?: string) {
  let caught: unknown
  try {
    validateRecord(collection, record, rkey)
  } catch (err) {
    caught = err
  }
  expect(caught).toBeInstanceOf(RecordValidationError)
  const err = caught as RecordValidationError
  expect(err.collection).toBe(collection)
  expect(err.message).toContain(collection)
  expect(err.message).toMatch(pattern)
}

function expectXrpcError(fn: () => unknown, status: number, pattern: RegExp) {
  let caught: unknown
  try {
    fn()
  } catch (err) {
    caught = err
  }
  expect(caught).toBeInstanceOf(XrpcValidationError)
  expect(caught).toBeInstanceOf(XrpcError)
  const err = caught as XrpcValidationError
  expect(err.status).toBe(status)
  expect(err.error).toBe(status === 400 ? 'InvalidRequest' : 'InvalidResponse')
  expect(err.message).toMatch(pattern)
}

describe('lexicon documents', () => {
  test('every JSON file under lexicons/ is loaded, at the path its NSID implies', async () => {
    const files = (await Array.fromAsync(new Bun.Glob('**/*.json').scan(LEXICON_DIR))).map((f) => f.replaceAll('\\', '/'))
    const expected = LEXICON_DOCS.map((doc) => `${doc.id.replaceAll('.', '/')}.json`)
    expect(files.sort()).toEqual([...expected].sort())
    expect(new Set(LEXICON_DOCS.map((d) => d.id)).size).toBe(LEXICON_DOCS.length)
    expect(relative(LEXICON_DIR, join(LEXICON_DIR, 'io/atcr/manifest.json'))).toBe('io/atcr/manifest.json')
  })

  test('all 25 original NSIDs are present', () => {
    expect(LEXICON_DOCS.map((d) => d.id).sort()).toEqual(Object.values(NSID).sort())
  })

  test.each(LEXICON_DOCS.map((doc) => [doc.id, doc] as const))('%s parses as a lexicon v1 document', async (id, doc) => {
    const file = Bun.file(join(LEXICON_DIR, `${id.replaceAll('.', '/')}.json`))
    const raw = await file.json()
    expect(() => parseLexiconDoc(raw)).not.toThrow()
    expect(raw.lexicon).toBe(1)
    expect(raw.id).toBe(id)
    // LEXICON_DOCS keeps the file's form (Lexicons.add mutates refs; we give it copies)
    expect(doc).toEqual(raw)
    expect(lexicons.getDef(id)).toBeDefined()
  })

  test('records declare a key type; every ref resolves', () => {
    expect([...RECORD_COLLECTIONS].sort()).toEqual(Object.keys(EXAMPLES).sort())
    for (const id of RECORD_COLLECTIONS) {
      const def = lexicons.getDef(id)
      expect(def?.type).toBe('record')
      expect(['tid', 'any', 'literal:self']).toContain((def as { key?: string }).key ?? 'missing')
    }
    const refs: string[] = []
    const walk = (v: unknown) => {
      if (Array.isArray(v)) v.forEach(walk)
      else if (v && typeof v === 'object') {
        const o = v as Record<string, unknown>
        if (o.type === 'ref' && typeof o.ref === 'string') refs.push(o.ref)
        if (o.type === 'union' && Array.isArray(o.refs)) refs.push(...(o.refs as string[]))
        Object.values(o).forEach(walk)
      }
    }
    for (const doc of lexicons) walk(doc)
    expect(refs.length).toBeGreaterThan(10)
    for (const ref of refs) expect(lexicons.getDef(ref)).toBeDefined()
  })

  test('record key types match the original', () => {
    const key = (id: string) => (lexicons.getDef(id) as { key?: string }).key
    // atcr keys manifests by digest hex (see the lexicon's description); the original declared tid.
    expect(key('io.atcr.manifest')).toBe('any')
    expect(key('io.atcr.tag')).toBe('any')
    expect(key('io.atcr.sailor.profile')).toBe('literal:self')
    expect(key('io.atcr.hold.captain')).toBe('literal:self')
    expect(key('io.atcr.hold.crew')).toBe('any')
    expect(key('io.atcr.hold.layer')).toBe('tid')
    expect(key('io.atcr.hold.stats')).toBe('any')
    expect(key('io.atcr.hold.scan')).toBe('any')
  })

  test('XRPC methods declare the original error names', () => {
    const errors = (id: string) => ((lexicons.getDef(id) as { errors?: { name: string }[] }).errors ?? []).map((e) => e.name)
    expect(errors('io.atcr.hold.initiateUpload')).toEqual(['InvalidDigest'])
    expect(errors('io.atcr.hold.getPartUploadUrl')).toEqual(['InvalidUploadId', 'InvalidPartNumber'])
    expect(errors('io.atcr.hold.completeUpload')).toEqual(['InvalidUploadId', 'InvalidDigest', 'MissingParts', 'CompletionFailed'])
    expect(errors('io.atcr.hold.abortUpload')).toEqual(['InvalidUploadId', 'AbortFailed'])
    expect(errors('io.atcr.hold.notifyManifest')).toEqual(['InvalidOperation', 'UserMismatch', 'QuotaExceeded'])
    expect(errors('io.atcr.hold.requestCrew')).toEqual(['AuthRequired', 'RegistrationDisabled'])
    expect(errors('io.atcr.hold.getQuota')).toEqual(['InvalidUserDid'])
    expect(errors('io.atcr.hold.exportUserData')).toEqual(['AuthRequired'])
    expect(errors('io.atcr.hold.subscribeScanJobs')).toEqual(['InvalidSecret'])
  })
})

describe('validateRecord: valid records', () => {
  test.each(Object.entries(EXAMPLES))('%s example passes', (collection, record) => {
    const out = validateRecord(collection, record)
    // $type filled in; lexicon defaults (io.atcr.hold `public`) may be added
    expect(out).toMatchObject({ $type: collection, ...record })
  })

  test('accepts an explicit matching $type and returns JSON form for JSON input', () => {
    const rec = { $type: 'io.atcr.manifest', ...EXAMPLES['io.atcr.manifest'] }
    const out = validateRecord('io.atcr.manifest', rec)
    expect(out.manifestBlob).toEqual(jsonBlob('application/vnd.oci.image.manifest.v1+json'))
  })

  test('typed overload returns the record type', () => {
    const tag = validateRecord('io.atcr.tag', EXAMPLES['io.atcr.tag'])
    const name: string = tag.tag
    expect(name).toBe('latest')
  })

  test('accepts lex-form records (BlobRef instances) and keeps that form', () => {
    const blob = new BlobRef(CID.parse(BLOB_CID) as never, 'image/webp', 10)
    const out = validateRecord('io.atcr.repo.page', { ...EXAMPLES['io.atcr.repo.page'], avatar: blob })
    expect(out.avatar).toBeInstanceOf(BlobRef)
  })

  test('applies lexicon defaults', () => {
    expect(validateRecord('io.atcr.hold', EXAMPLES['io.atcr.hold']).public).toBe(false)
  })

  test('sailor profile: defaultHold may be null or absent', () => {
    expect(() => validateRecord('io.atcr.sailor.profile', { defaultHold: null, createdAt: NOW })).not.toThrow()
    expect(() => validateRecord('io.atcr.sailor.profile', { createdAt: NOW })).not.toThrow()
  })

  test('legacy tag with only manifestDigest, and unknown extra fields, are accepted', () => {
    const legacy = { repository: 'web', tag: 'v1', manifestDigest: DIGEST, createdAt: NOW, somethingNew: 1 }
    expect(validateRecord('io.atcr.tag' as string, legacy).somethingNew).toBe(1)
  })

  test('index manifests with platforms', () => {
    const index = {
      repository: 'web',
      digest: DIGEST,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      schemaVersion: 2,
      createdAt: NOW,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          size: 100,
          digest: DIGEST,
          platform: { architecture: 'arm', os: 'linux', variant: 'v7' },
        },
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          size: 100,
          digest: DIGEST,
          platform: { architecture: 'amd64', os: 'windows', osVersion: '10.0.20348.2340', osFeatures: ['win32k'] },
        },
      ],
    }
    expect(() => validateRecord('io.atcr.manifest', index)).not.toThrow()
    const bad = structuredClone(index)
    delete (bad.manifests[0]!.platform as { os?: string }).os
    expectRecordError('io.atcr.manifest', bad, /platform must have the property "os"/)
  })

  test('record keys: literal:self, tid, any', () => {
    expect(() => validateRecord('io.atcr.hold.captain', EXAMPLES['io.atcr.hold.captain'], 'self')).not.toThrow()
    expectRecordError('io.atcr.hold.captain', EXAMPLES['io.atcr.hold.captain'], /must be "self"/, 'captain')
    expect(() => validateRecord('io.atcr.manifest', EXAMPLES['io.atcr.manifest'], '3lbd2w4c3zs2k')).not.toThrow()
    expect(() => validateRecord('io.atcr.manifest', EXAMPLES['io.atcr.manifest'], 'ab'.repeat(32))).not.toThrow()
    expect(() => validateRecord('io.atcr.hold.layer', EXAMPLES['io.atcr.hold.layer'], '3lbd2w4c3zs2k')).not.toThrow()
    expectRecordError('io.atcr.hold.layer', EXAMPLES['io.atcr.hold.layer'], /must be a TID/, 'not-a-tid')
    expect(() => validateRecord('io.atcr.hold.crew', EXAMPLES['io.atcr.hold.crew'], DID)).not.toThrow()
    expectRecordError('io.atcr.hold.crew', EXAMPLES['io.atcr.hold.crew'], /not a valid record key/, 'a/b')
  })
})

describe('validateRecord: invalid records', () => {
  test.each(Object.entries(EXAMPLES))('%s without each required field fails', (collection, record) => {
    const def = lexicons.getDef(collection) as { record: { required?: string[] } }
    const required = def.record.required ?? []
    expect(required.length).toBeGreaterThan(0)
    for (const field of required) {
      const { [field]: _, ...rest } = record
      expectRecordError(collection, rest, new RegExp(`must have the property "${field}"`))
    }
  })

  test('too-long strings fail', () => {
    const m = EXAMPLES['io.atcr.manifest']!
    expectRecordError('io.atcr.manifest', { ...m, repository: 'r'.repeat(256) }, /repository must not be longer than 255/)
    expectRecordError('io.atcr.manifest', { ...m, digest: `sha256:${'a'.repeat(200)}` }, /digest must not be longer than 128/)
    expectRecordError('io.atcr.tag', { ...EXAMPLES['io.atcr.tag'], tag: 't'.repeat(129) }, /tag must not be longer than 128/)
    expectRecordError(
      'io.atcr.hold.crew',
      { ...EXAMPLES['io.atcr.hold.crew'], permissions: ['p'.repeat(65)] },
      /permissions\/0 must not be longer than 64/,
    )
    expectRecordError(
      'io.atcr.repo.page',
      { ...EXAMPLES['io.atcr.repo.page'], description: 'x'.repeat(100_001) },
      /description must not be longer than 100000/,
    )
    // nested: a layer descriptor
    const layers = [{ mediaType: 'm'.repeat(129), size: 1, digest: DIGEST }]
    expectRecordError('io.atcr.manifest', { ...m, layers }, /layers\/0\/mediaType must not be longer than 128/)
  })

  test('bad DIDs fail', () => {
    expectRecordError('io.atcr.manifest', { ...EXAMPLES['io.atcr.manifest'], holdDid: 'hold01.atcr.io' }, /holdDid must be a valid did/)
    expectRecordError('io.atcr.hold.captain', { ...EXAMPLES['io.atcr.hold.captain'], owner: 'did:' }, /owner must be a valid did/)
    expectRecordError('io.atcr.hold.crew', { ...EXAMPLES['io.atcr.hold.crew'], member: 'alice.bsky.social' }, /member must be a valid did/)
    expectRecordError(
      'io.atcr.sailor.profile',
      { defaultHold: 'https://hold01.atcr.io', createdAt: NOW },
      /defaultHold must be a valid did/,
    )
  })

  test('bad datetimes fail', () => {
    expectRecordError('io.atcr.manifest', { ...EXAMPLES['io.atcr.manifest'], createdAt: 'yesterday' }, /createdAt must be an valid atproto datetime/)
    expectRecordError('io.atcr.hold.stats', { ...EXAMPLES['io.atcr.hold.stats'], lastPull: '2025-11-02' }, /lastPull must be an valid atproto datetime/)
    expectRecordError('io.atcr.hold.captain', { ...EXAMPLES['io.atcr.hold.captain'], deployedAt: 1730000000 }, /deployedAt must be a string/)
  })

  test('bad AT-URIs, URIs and types fail', () => {
    expectRecordError('io.atcr.tag', { ...EXAMPLES['io.atcr.tag'], manifest: 'sha256:abc' }, /manifest must be a valid at-uri/)
    expectRecordError('io.atcr.hold', { ...EXAMPLES['io.atcr.hold'], endpoint: 'not a url' }, /endpoint must be a uri/)
    expectRecordError('io.atcr.manifest', { ...EXAMPLES['io.atcr.manifest'], schemaVersion: '2' }, /schemaVersion must be an integer/)
    expectRecordError('io.atcr.hold.stats', { ...EXAMPLES['io.atcr.hold.stats'], pullCount: -1 }, /pullCount can not be less than 0/)
    expectRecordError('io.atcr.hold.captain', { ...EXAMPLES['io.atcr.hold.captain'], public: 'yes' }, /public must be a boolean/)
    expectRecordError('io.atcr.manifest', { ...EXAMPLES['io.atcr.manifest'], annotations: 'x' }, /annotations must be an object/)
    expectRecordError('io.atcr.manifest', { ...EXAMPLES['io.atcr.manifest'], manifestBlob: 'bafy' }, /manifestBlob should be a blob ref/)
  })

  test('wrong $type, non-objects, unknown and non-record collections fail', () => {
    expectRecordError('io.atcr.tag', { ...EXAMPLES['io.atcr.tag'], $type: 'io.atcr.manifest' }, /\$type must be "io.atcr.tag"/)
    expectRecordError('io.atcr.tag', null, /must be an object/)
    expectRecordError('io.atcr.tag', [1], /must be an object/)
    expectRecordError('io.atcr.nope', { $type: 'io.atcr.nope' }, /unknown collection/)
    expectRecordError('io.atcr.hold.initiateUpload', { digest: DIGEST }, /is a procedure, not a record/)
  })
})

describe('validateRecord: collections outside io.atcr.*', () => {
  test('returned unchanged when $type matches', () => {
    const profile = { $type: 'app.bsky.actor.profile', displayName: 'Hold', whatever: { x: 1 } }
    expect(validateRecord('app.bsky.actor.profile', profile)).toBe(profile)
  })

  test('rejected without a matching $type', () => {
    expectRecordError('app.bsky.feed.post', { text: 'hi' }, /\$type must be "app.bsky.feed.post"/)
    expectRecordError('app.bsky.feed.post', { $type: 'app.bsky.feed.like' }, /\$type must be "app.bsky.feed.post"/)
  })
})

describe('XRPC input validation', () => {
  test('initiateUpload', () => {
    expect(assertXrpcInput('io.atcr.hold.initiateUpload', { digest: DIGEST })).toEqual({ digest: DIGEST })
    expectXrpcError(() => assertXrpcInput('io.atcr.hold.initiateUpload', {}), 400, /Input must have the property "digest"/)
    expectXrpcError(
      () => assertXrpcInput('io.atcr.hold.initiateUpload', { digest: 'd'.repeat(129) }),
      400,
      /io.atcr.hold.initiateUpload input: .*digest must not be longer than 128/,
    )
    expectXrpcError(() => assertXrpcInput('io.atcr.hold.initiateUpload', 'sha256:x'), 400, /must be an object/)
  })

  test('completeUpload', () => {
    const input = { uploadId: 'u-1', digest: DIGEST, parts: [{ partNumber: 1, etag: '"e1"' }, { partNumber: 2, etag: '"e2"' }] }
    expect(assertXrpcInput('io.atcr.hold.completeUpload', input)).toEqual(input)
    expectXrpcError(
      () => assertXrpcInput('io.atcr.hold.completeUpload', { ...input, parts: [{ partNumber: 0, etag: 'e' }] }),
      400,
      /parts\/0\/partNumber can not be less than 1/,
    )
    expectXrpcError(
      () => assertXrpcInput('io.atcr.hold.completeUpload', { ...input, parts: [{ partNumber: 1 }] }),
      400,
      /parts\/0 must have the property "etag"/,
    )
    expectXrpcError(() => assertXrpcInput('io.atcr.hold.completeUpload', { uploadId: 'u', digest: DIGEST }), 400, /"parts"/)
  })

  test('notifyManifest: defaults operation to push, validates the nested manifest info', () => {
    const input = {
      repository: 'web',
      tag: 'latest',
      userDid: DID,
      manifestDigest: DIGEST,
      manifest: {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: 10, digest: DIGEST },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size: 20, digest: DIGEST }],
      },
    }
    const out = assertXrpcInput<{ operation: string }>('io.atcr.hold.notifyManifest', input)
    expect(out.operation).toBe('push')
    expect(assertXrpcInput<{ operation: string }>('io.atcr.hold.notifyManifest', { ...input, operation: 'pull' }).operation).toBe('pull')
    expectXrpcError(() => assertXrpcInput('io.atcr.hold.notifyManifest', { ...input, userDid: 'alice' }), 400, /userDid must be a valid did/)
    expectXrpcError(
      () =>
        assertXrpcInput('io.atcr.hold.notifyManifest', {
          ...input,
          manifest: { ...input.manifest, layers: [{ mediaType: 'x', digest: DIGEST }] },
        }),
      400,
      /manifest\/layers\/0 must have the property "size"/,
    )
    const { manifest: _, ...noManifest } = input
    expectXrpcError(() => assertXrpcInput('io.atcr.hold.notifyManifest', noManifest), 400, /"manifest"/)
  })

  test('procedures without an input schema pass the body through', () => {
    const bytes = new Uint8Array([1, 2, 3])
    expect(assertXrpcInput<unknown>('io.atcr.hold.uploadPart', bytes)).toBe(bytes)
  })

  test('unknown methods and wrong kinds are programming errors, not 400s', () => {
    expect(() => assertXrpcInput('io.atcr.hold.nope', {})).toThrow(/no lexicon for XRPC method/)
    expect(() => assertXrpcInput('io.atcr.hold.getQuota', {})).toThrow(/is a query/)
    expect(() => assertXrpcInput('io.atcr.hold.nope', {})).not.toThrow(XrpcValidationError)
  })
})

describe('XRPC params and output validation', () => {
  test('decodes query strings by lexicon type', () => {
    const out = assertXrpcParams('io.atcr.hold.uploadPart', new URLSearchParams({ uploadId: 'u-1', partNumber: '7' }))
    expect(out).toEqual({ uploadId: 'u-1', partNumber: 7 })
    expect(assertXrpcParams('io.atcr.hold.subscribeScanJobs', { cursor: '-1' })).toEqual({ cursor: -1 })
    expect(assertXrpcParams('io.atcr.hold.getQuota', { userDid: DID })).toEqual({ userDid: DID })
    expect(assertXrpcParams('io.atcr.hold.listTiers', undefined)).toEqual({})
  })

  test('rejects bad params', () => {
    expectXrpcError(() => assertXrpcParams('io.atcr.hold.uploadPart', { uploadId: 'u' }), 400, /must have the property "partNumber"/)
    expectXrpcError(() => assertXrpcParams('io.atcr.hold.uploadPart', { uploadId: 'u', partNumber: 'x' }), 400, /partNumber must be an integer/)
    expectXrpcError(() => assertXrpcParams('io.atcr.hold.uploadPart', { uploadId: 'u', partNumber: '0' }), 400, /partNumber can not be less than 1/)
    expectXrpcError(() => assertXrpcParams('io.atcr.hold.getQuota', { userDid: 'bob' }), 400, /userDid must be a valid did/)
  })

  test('output: const values and required fields are enforced', () => {
    expect(assertXrpcOutput('io.atcr.hold.completeUpload', { status: 'completed', digest: DIGEST })).toEqual({
      status: 'completed',
      digest: DIGEST,
    })
    expectXrpcError(() => assertXrpcOutput('io.atcr.hold.completeUpload', { status: 'done', digest: DIGEST }), 500, /status must be completed/)
    expectXrpcError(() => assertXrpcOutput('io.atcr.hold.abortUpload', {}), 500, /must have the property "status"/)
    expect(
      assertXrpcOutput('io.atcr.hold.listTiers', {
        tiers: [{ name: 'deckhand', quotaBytes: 5e9, quotaFormatted: '5.0 GB', scanOnPush: false }],
      }),
    ).toBeDefined()
    expect(assertXrpcOutput('io.atcr.hold.getPartUploadUrl', { url: 'https://s3.example.com/x?sig=1' })).toEqual({
      url: 'https://s3.example.com/x?sig=1',
      method: 'PUT',
    })
  })
})
