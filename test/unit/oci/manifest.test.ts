import { describe, expect, test } from 'bun:test'

import {
  assertManifestDigest,
  DOCKER_CONFIG,
  DOCKER_FOREIGN_LAYER,
  DOCKER_LAYER,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  DOCKER_SCHEMA1_SIGNED_MANIFEST,
  digestOf,
  hasErrorCode,
  isImageManifestMediaType,
  isIndexMediaType,
  isManifestMediaType,
  isSchema1MediaType,
  isValidMediaTypeSyntax,
  MAX_MANIFEST_BYTES,
  normalizeMediaType,
  OCI_CONFIG,
  OCI_EMPTY,
  OCI_EMPTY_DIGEST,
  OCI_INDEX,
  OCI_LAYER_GZIP,
  OCI_MANIFEST,
  parseManifest,
  referencedBlobs,
  referencedManifests,
  RegistryError,
} from '../../../src/oci/index.ts'

const enc = new TextEncoder()
const d = (s: string) => digestOf(s)
const CONFIG = { mediaType: OCI_CONFIG, digest: d('config'), size: 6 }
const LAYER1 = { mediaType: OCI_LAYER_GZIP, digest: d('layer1'), size: 1000 }
const LAYER2 = { mediaType: OCI_LAYER_GZIP, digest: d('layer2'), size: 2000 }

function bytes(doc: unknown): Uint8Array {
  return enc.encode(typeof doc === 'string' ? doc : JSON.stringify(doc, null, 2))
}

function invalidErr(doc: unknown, contentType: string | null, expectInDetail?: string): RegistryError {
  try {
    parseManifest(bytes(doc), contentType)
  } catch (e) {
    expect(hasErrorCode(e, 'MANIFEST_INVALID')).toBe(true)
    if (expectInDetail) expect(String((e as RegistryError).detail)).toContain(expectInDetail)
    return e as RegistryError
  }
  throw new Error('expected MANIFEST_INVALID')
}

function invalid(doc: unknown, contentType: string | null, expectInDetail?: string): void {
  invalidErr(doc, contentType, expectInDetail)
}

const ociImage = {
  schemaVersion: 2,
  mediaType: OCI_MANIFEST,
  config: CONFIG,
  layers: [LAYER1, LAYER2],
  annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' },
}

describe('parseManifest: valid documents', () => {
  test('Docker schema 2 image manifest', () => {
    const doc = {
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST,
      config: { mediaType: DOCKER_CONFIG, size: 7023, digest: d('cfg') },
      layers: [
        { mediaType: DOCKER_LAYER, size: 32654, digest: d('l1') },
        { mediaType: DOCKER_LAYER, size: 16724, digest: d('l2') },
      ],
    }
    const raw = bytes(doc)
    const m = parseManifest(raw, DOCKER_MANIFEST)
    expect(m.mediaType).toBe(DOCKER_MANIFEST)
    expect(m.kind).toBe('image')
    expect(m.schemaVersion).toBe(2)
    expect(m.config).toEqual(doc.config)
    expect(m.layers).toEqual(doc.layers)
    expect(m.manifests).toEqual([])
    expect(m.raw).toBe(raw)
    expect(m.digest).toBe(digestOf(raw))
    expect(m.size).toBe(raw.byteLength)
    expect(referencedBlobs(m).map((x) => x.digest)).toEqual([d('cfg'), d('l1'), d('l2')])
    expect(referencedManifests(m)).toEqual([])
  })

  test('OCI image manifest with annotations; Content-Type parameters ignored', () => {
    const m = parseManifest(bytes(ociImage), `${OCI_MANIFEST}; charset=utf-8`)
    expect(m.mediaType).toBe(OCI_MANIFEST)
    expect(m.annotations).toEqual(ociImage.annotations)
    expect(m.layers).toHaveLength(2)
    expect(m.subject).toBeUndefined()
  })

  test('digest is over the exact bytes (whitespace matters)', () => {
    const compact = enc.encode(JSON.stringify(ociImage))
    const pretty = bytes(ociImage)
    expect(parseManifest(compact, OCI_MANIFEST).digest).not.toBe(parseManifest(pretty, OCI_MANIFEST).digest)
  })

  test('OCI index with platforms', () => {
    const doc = {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        {
          mediaType: OCI_MANIFEST,
          digest: d('amd64'),
          size: 7143,
          platform: { architecture: 'amd64', os: 'linux' },
        },
        {
          mediaType: OCI_MANIFEST,
          digest: d('arm64'),
          size: 7682,
          platform: { architecture: 'arm64', os: 'linux', variant: 'v8' },
        },
        {
          mediaType: OCI_MANIFEST,
          digest: d('win'),
          size: 100,
          platform: { architecture: 'amd64', os: 'windows', 'os.version': '10.0.14393.1066', 'os.features': ['win32k'] },
        },
        {
          mediaType: OCI_MANIFEST,
          digest: d('attestation'),
          size: 840,
          annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': d('amd64') },
          platform: { architecture: 'unknown', os: 'unknown' },
        },
      ],
      annotations: { 'com.example.key1': 'value1' },
    }
    const m = parseManifest(bytes(doc), OCI_INDEX)
    expect(m.kind).toBe('index')
    expect(m.config).toBeUndefined()
    expect(m.layers).toEqual([])
    expect(m.manifests.map((x) => x.platform)).toEqual([
      { architecture: 'amd64', os: 'linux' },
      { architecture: 'arm64', os: 'linux', variant: 'v8' },
      { architecture: 'amd64', os: 'windows', osVersion: '10.0.14393.1066', osFeatures: ['win32k'] },
      { architecture: 'unknown', os: 'unknown' },
    ])
    expect(m.manifests[3]!.annotations?.['vnd.docker.reference.type']).toBe('attestation-manifest')
    expect(referencedManifests(m).map((x) => x.digest)).toEqual([d('amd64'), d('arm64'), d('win'), d('attestation')])
    expect(referencedBlobs(m)).toEqual([])
  })

  test('Docker manifest list', () => {
    const doc = {
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST_LIST,
      manifests: [
        { mediaType: DOCKER_MANIFEST, digest: d('ppc'), size: 7143, platform: { architecture: 'ppc64le', os: 'linux' } },
        {
          mediaType: DOCKER_MANIFEST,
          digest: d('amd'),
          size: 7682,
          platform: { architecture: 'amd64', os: 'linux', features: ['sse4'] },
        },
      ],
    }
    const m = parseManifest(bytes(doc), DOCKER_MANIFEST_LIST)
    expect(m.mediaType).toBe(DOCKER_MANIFEST_LIST)
    expect(m.manifests[1]!.platform).toEqual({ architecture: 'amd64', os: 'linux', features: ['sse4'] })
  })

  test('empty index is allowed', () => {
    expect(parseManifest(bytes({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }), OCI_INDEX).manifests).toEqual([])
  })

  test('artifact with subject, artifactType and empty config/layers', () => {
    const subject = { mediaType: OCI_MANIFEST, digest: d('subject'), size: 1234 }
    const doc = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: 'application/vnd.example.sbom.v1',
      config: { mediaType: OCI_EMPTY, digest: OCI_EMPTY_DIGEST, size: 2, data: 'e30=' },
      layers: [{ mediaType: 'application/spdx+json', digest: d('sbom'), size: 42, annotations: { 'org.opencontainers.image.title': 'sbom.json' } }],
      subject,
    }
    const m = parseManifest(bytes(doc), OCI_MANIFEST)
    expect(m.artifactType).toBe('application/vnd.example.sbom.v1')
    expect(m.subject).toEqual(subject)
    expect(m.config).toEqual({ mediaType: OCI_EMPTY, digest: OCI_EMPTY_DIGEST, size: 2 })
    // subject need not exist yet (spec MUST), so it is not among the references to check
    expect(referencedBlobs(m).map((x) => x.digest)).toEqual([OCI_EMPTY_DIGEST, d('sbom')])
    expect(referencedManifests(m)).toEqual([])
  })

  test('artifact with no layers at all is allowed', () => {
    const m = parseManifest(
      bytes({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: 'application/vnd.example+type', config: { mediaType: OCI_EMPTY, digest: OCI_EMPTY_DIGEST, size: 2 }, layers: [] }),
      OCI_MANIFEST,
    )
    expect(m.layers).toEqual([])
  })

  test('OCI index with subject', () => {
    const m = parseManifest(
      bytes({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [], subject: { mediaType: OCI_MANIFEST, digest: d('s'), size: 1 } }),
      OCI_INDEX,
    )
    expect(m.subject?.digest).toBe(d('s'))
  })

  test('body mediaType decides when the header is absent or generic', () => {
    for (const ct of [null, '', 'application/json', 'application/octet-stream']) {
      expect(parseManifest(bytes(ociImage), ct).mediaType).toBe(OCI_MANIFEST)
    }
  })

  test('header decides when the body has no mediaType (OCI allows omitting it)', () => {
    const { mediaType: _omit, ...noType } = ociImage
    expect(parseManifest(bytes(noType), OCI_MANIFEST).mediaType).toBe(OCI_MANIFEST)
    const idx = { schemaVersion: 2, manifests: [] }
    expect(parseManifest(bytes(idx), OCI_INDEX).mediaType).toBe(OCI_INDEX)
  })

  test('header is compared case-insensitively', () => {
    expect(parseManifest(bytes(ociImage), OCI_MANIFEST.toUpperCase()).mediaType).toBe(OCI_MANIFEST)
  })

  test('referencedBlobs de-duplicates and skips foreign layers with urls', () => {
    const doc = {
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST,
      config: { mediaType: DOCKER_CONFIG, digest: d('c'), size: 1 },
      layers: [
        { mediaType: DOCKER_FOREIGN_LAYER, digest: d('win-base'), size: 100, urls: ['https://mcr.microsoft.com/x'] },
        { mediaType: DOCKER_LAYER, digest: d('l'), size: 1 },
        { mediaType: DOCKER_LAYER, digest: d('l'), size: 1 },
        { mediaType: DOCKER_LAYER, digest: d('u'), size: 1, urls: ['https://example.com/u'] }, // normal layer: still required
      ],
    }
    const m = parseManifest(bytes(doc), DOCKER_MANIFEST)
    expect(m.layers).toHaveLength(4)
    expect(m.layers[0]!.urls).toEqual(['https://mcr.microsoft.com/x'])
    expect(referencedBlobs(m).map((x) => x.digest)).toEqual([d('c'), d('l'), d('u')])
  })

  test('null annotations (Go nil map) are treated as absent', () => {
    const m = parseManifest(bytes({ ...ociImage, annotations: null }), OCI_MANIFEST)
    expect(m.annotations).toBeUndefined()
  })

  test('unknown extra fields are tolerated', () => {
    expect(parseManifest(bytes({ ...ociImage, futureField: { x: 1 } }), OCI_MANIFEST).kind).toBe('image')
  })

  test('exactly MAX_MANIFEST_BYTES is accepted', () => {
    const base = JSON.stringify({ ...ociImage, annotations: { pad: '' } })
    const pad = 'x'.repeat(MAX_MANIFEST_BYTES - enc.encode(base).byteLength)
    const raw = enc.encode(JSON.stringify({ ...ociImage, annotations: { pad } }))
    expect(raw.byteLength).toBe(MAX_MANIFEST_BYTES)
    expect(parseManifest(raw, OCI_MANIFEST).size).toBe(MAX_MANIFEST_BYTES)
  })
})

describe('parseManifest: invalid documents → MANIFEST_INVALID', () => {
  test('missing config', () => {
    const { config: _c, ...doc } = ociImage
    invalid(doc, OCI_MANIFEST, 'config is required')
  })

  test('missing layers', () => {
    const { layers: _l, ...doc } = ociImage
    invalid(doc, OCI_MANIFEST, 'layers is required')
  })

  test('layers not an array', () => invalid({ ...ociImage, layers: {} }, OCI_MANIFEST, 'layers must be an array'))

  test('bad digest in a layer', () => {
    const e = invalidErr({ ...ociImage, layers: [LAYER1, { ...LAYER2, digest: 'sha256:' + 'A'.repeat(64) }] }, OCI_MANIFEST, 'layers[1].digest')
    expect(e.status).toBe(400)
  })

  test('unsupported digest algorithm in config', () =>
    invalid({ ...ociImage, config: { ...CONFIG, digest: 'md5:' + 'a'.repeat(32) } }, OCI_MANIFEST, 'config.digest'))

  test('negative size', () => invalid({ ...ociImage, layers: [{ ...LAYER1, size: -1 }] }, OCI_MANIFEST, 'layers[0].size'))
  test('fractional size', () => invalid({ ...ociImage, layers: [{ ...LAYER1, size: 1.5 }] }, OCI_MANIFEST, 'size'))
  test('string size', () => invalid({ ...ociImage, layers: [{ ...LAYER1, size: '10' }] }, OCI_MANIFEST, 'size'))
  test('unsafe integer size', () =>
    invalid(`{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","config":{"mediaType":"${OCI_CONFIG}","digest":"${CONFIG.digest}","size":9007199254740993},"layers":[]}`, OCI_MANIFEST, 'config.size'))
  test('missing size', () => {
    const { size: _s, ...l } = LAYER1
    invalid({ ...ociImage, layers: [l] }, OCI_MANIFEST, 'layers[0].size')
  })
  test('missing descriptor mediaType', () => {
    const { mediaType: _m, ...l } = LAYER1
    invalid({ ...ociImage, layers: [l] }, OCI_MANIFEST, 'layers[0].mediaType is required')
  })
  test('malformed descriptor mediaType', () => invalid({ ...ociImage, config: { ...CONFIG, mediaType: 'not a type' } }, OCI_MANIFEST, 'config.mediaType'))
  test('descriptor not an object', () => invalid({ ...ociImage, layers: ['sha256:x'] }, OCI_MANIFEST, 'layers[0]'))

  test('schemaVersion 1', () => invalid({ schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] }, null, 'schema 1'))
  test('schemaVersion 3', () => invalid({ ...ociImage, schemaVersion: 3 }, OCI_MANIFEST, 'schemaVersion must be 2'))
  test('schemaVersion as string', () => invalid({ ...ociImage, schemaVersion: '2' }, OCI_MANIFEST, 'schemaVersion must be 2'))
  test('schemaVersion missing', () => {
    const { schemaVersion: _s, ...doc } = ociImage
    invalid(doc, OCI_MANIFEST, 'schemaVersion is required')
  })
  test('schema 1 Content-Type', () => invalid({ ...ociImage, mediaType: undefined }, DOCKER_SCHEMA1_SIGNED_MANIFEST, 'schema 1'))

  test('mediaType mismatch with header', () => invalid(ociImage, DOCKER_MANIFEST, 'does not match Content-Type'))
  test('index body with manifest header', () => invalid({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }, OCI_MANIFEST, 'does not match'))
  test('body mediaType must be exact (no case games)', () => invalid({ ...ociImage, mediaType: OCI_MANIFEST.toUpperCase() }, null, 'must be exactly'))
  test('unsupported media type', () => invalid({ ...ociImage, mediaType: 'application/vnd.oci.artifact.manifest.v1+json' }, null, 'unsupported manifest media type'))
  test('no media type anywhere', () => {
    const { mediaType: _m, ...doc } = ociImage
    invalid(doc, null, 'cannot determine')
    invalid(doc, 'application/json', 'cannot determine')
  })
  test('mediaType not a string', () => invalid({ ...ociImage, mediaType: 5 }, OCI_MANIFEST, 'mediaType must be a string'))

  test('non-JSON', () => invalid('this is not json', OCI_MANIFEST, 'not valid JSON'))
  test('truncated JSON', () => invalid(JSON.stringify(ociImage).slice(0, 50), OCI_MANIFEST, 'not valid JSON'))
  test('array top-level', () => invalid([ociImage], OCI_MANIFEST, 'JSON object'))
  test('null / number / string top-level', () => {
    invalid('null', OCI_MANIFEST, 'JSON object')
    invalid('2', OCI_MANIFEST, 'JSON object')
    invalid('"x"', OCI_MANIFEST, 'JSON object')
  })
  test('empty body', () => {
    expect(() => parseManifest(new Uint8Array(), OCI_MANIFEST)).toThrow(RegistryError)
  })
  test('invalid UTF-8', () => {
    const raw = new Uint8Array([...enc.encode('{"schemaVersion":2,"x":"'), 0xff, 0xfe, ...enc.encode('"}')])
    try {
      parseManifest(raw, OCI_MANIFEST)
      throw new Error('unreachable')
    } catch (e) {
      expect(hasErrorCode(e, 'MANIFEST_INVALID')).toBe(true)
      expect(String((e as RegistryError).detail)).toContain('UTF-8')
    }
  })
  test('UTF-8 BOM is refused', () => {
    const raw = new Uint8Array([0xef, 0xbb, 0xbf, ...bytes(ociImage)])
    expect(() => parseManifest(raw, OCI_MANIFEST)).toThrow(RegistryError)
  })

  test('too large → 413 MANIFEST_INVALID', () => {
    const raw = new Uint8Array(MAX_MANIFEST_BYTES + 1).fill(0x20)
    try {
      parseManifest(raw, OCI_MANIFEST)
      throw new Error('unreachable')
    } catch (e) {
      expect(hasErrorCode(e, 'MANIFEST_INVALID')).toBe(true)
      expect((e as RegistryError).status).toBe(413)
      expect((e as RegistryError).detail).toEqual({ size: MAX_MANIFEST_BYTES + 1, max: MAX_MANIFEST_BYTES })
    }
  })

  test('image manifest carrying manifests (shape confusion)', () =>
    invalid({ ...ociImage, manifests: [] }, OCI_MANIFEST, 'must not have a manifests field'))
  test('index carrying config/layers', () =>
    invalid({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [], layers: [] }, OCI_INDEX, 'must not have config or layers'))
  test('index without manifests', () => invalid({ schemaVersion: 2, mediaType: OCI_INDEX }, OCI_INDEX, 'manifests is required'))

  test('platform missing os', () =>
    invalid(
      { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: d('x'), size: 1, platform: { architecture: 'amd64' } }] },
      OCI_INDEX,
      'manifests[0].platform.os',
    ))
  test('platform os.features not strings', () =>
    invalid(
      {
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [{ mediaType: OCI_MANIFEST, digest: d('x'), size: 1, platform: { architecture: 'amd64', os: 'windows', 'os.features': [1] } }],
      },
      OCI_INDEX,
      'os.features',
    ))
  test('platform not an object', () =>
    invalid({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: d('x'), size: 1, platform: 'linux/amd64' }] }, OCI_INDEX, 'platform'))

  test('annotation values must be strings', () => invalid({ ...ociImage, annotations: { a: 1 } }, OCI_MANIFEST, 'annotations'))
  test('annotations must be an object', () => invalid({ ...ociImage, annotations: ['a'] }, OCI_MANIFEST, 'annotations'))
  test('descriptor annotations must be strings', () =>
    invalid({ ...ociImage, layers: [{ ...LAYER1, annotations: { a: true } }] }, OCI_MANIFEST, 'layers[0].annotations'))
  test('urls must be strings', () => invalid({ ...ociImage, layers: [{ ...LAYER1, urls: 'https://x' }] }, OCI_MANIFEST, 'urls'))
  test('bad subject', () => invalid({ ...ociImage, subject: { mediaType: OCI_MANIFEST, digest: 'nope', size: 1 } }, OCI_MANIFEST, 'subject.digest'))
  test('bad artifactType', () => invalid({ ...ociImage, artifactType: 'not-a-type' }, OCI_MANIFEST, 'artifactType'))
  test('data must be a string', () => invalid({ ...ociImage, config: { ...CONFIG, data: 5 } }, OCI_MANIFEST, 'config.data'))
})

describe('OCI-only fields on Docker types', () => {
  test('are ignored, not validated', () => {
    const doc = {
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST,
      config: { mediaType: DOCKER_CONFIG, digest: d('c'), size: 1 },
      layers: [],
      subject: 'garbage',
      annotations: { a: 1 },
      artifactType: 5,
    }
    const m = parseManifest(bytes(doc), DOCKER_MANIFEST)
    expect(m.subject).toBeUndefined()
    expect(m.annotations).toBeUndefined()
    expect(m.artifactType).toBeUndefined()
  })
})

describe('assertManifestDigest', () => {
  const raw = bytes(ociImage)
  const m = parseManifest(raw, OCI_MANIFEST)
  test('matching sha256 and sha512 references', () => {
    assertManifestDigest(m, digestOf(raw))
    assertManifestDigest(m, digestOf(raw, 'sha512'))
  })
  test('mismatch → DIGEST_INVALID', () => {
    try {
      assertManifestDigest(m, digestOf('other'))
      throw new Error('unreachable')
    } catch (e) {
      expect(hasErrorCode(e, 'DIGEST_INVALID')).toBe(true)
    }
  })
  test('malformed reference → DIGEST_INVALID', () => {
    expect(() => assertManifestDigest(m, 'sha256:short')).toThrow(RegistryError)
  })
})

describe('media types', () => {
  test('classification', () => {
    expect(isManifestMediaType(OCI_MANIFEST)).toBe(true)
    expect(isManifestMediaType(OCI_INDEX)).toBe(true)
    expect(isManifestMediaType(DOCKER_MANIFEST)).toBe(true)
    expect(isManifestMediaType(DOCKER_MANIFEST_LIST)).toBe(true)
    expect(isManifestMediaType(DOCKER_SCHEMA1_SIGNED_MANIFEST)).toBe(false)
    expect(isManifestMediaType(OCI_CONFIG)).toBe(false)
    expect(isManifestMediaType(null)).toBe(false)
    expect(isImageManifestMediaType(`${DOCKER_MANIFEST}; charset=utf-8`)).toBe(true)
    expect(isImageManifestMediaType(OCI_INDEX)).toBe(false)
    expect(isIndexMediaType(OCI_INDEX)).toBe(true)
    expect(isIndexMediaType(DOCKER_MANIFEST_LIST)).toBe(true)
    expect(isIndexMediaType(OCI_MANIFEST)).toBe(false)
    expect(isSchema1MediaType('application/vnd.docker.distribution.manifest.v1+json')).toBe(true)
    expect(normalizeMediaType(' Application/JSON ; q=1')).toBe('application/json')
    expect(normalizeMediaType(null)).toBe('')
  })

  test('RFC 6838 syntax', () => {
    expect(isValidMediaTypeSyntax('application/vnd.oci.image.layer.v1.tar+gzip')).toBe(true)
    expect(isValidMediaTypeSyntax('application/spdx+json')).toBe(true)
    expect(isValidMediaTypeSyntax('application')).toBe(false)
    expect(isValidMediaTypeSyntax('application/')).toBe(false)
    expect(isValidMediaTypeSyntax('application/x; a=b')).toBe(false)
    expect(isValidMediaTypeSyntax(`application/${'a'.repeat(128)}`)).toBe(false)
  })

  test('the empty descriptor digest is the digest of {}', () => {
    expect(digestOf('{}')).toBe(OCI_EMPTY_DIGEST)
  })
})
