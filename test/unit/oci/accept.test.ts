import { describe, expect, test } from 'bun:test'

import {
  acceptQuality,
  assertAcceptable,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  hasErrorCode,
  isAcceptable,
  negotiateManifest,
  OCI_INDEX,
  OCI_MANIFEST,
  parseAccept,
  RegistryError,
} from '../../../src/oci/index.ts'

const ALL = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST]
// What stock clients send (docker/moby, containerd — which adds */*).
const DOCKER_ACCEPT = [DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST].join(', ')
const CONTAINERD_ACCEPT = `${DOCKER_MANIFEST}, ${DOCKER_MANIFEST_LIST}, ${OCI_MANIFEST}, ${OCI_INDEX}, */*`
const OLD_DOCKER_ACCEPT = [DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, 'application/vnd.docker.distribution.manifest.v1+prettyjws', 'application/json'].join(', ')

describe('parseAccept', () => {
  test('comma lists, several headers, parameters and q-values', () => {
    expect(parseAccept([`${OCI_MANIFEST};q=0.5, ${OCI_INDEX}`, ' */* ; q=0.1 '])).toEqual([
      { type: 'application', subtype: 'vnd.oci.image.manifest.v1+json', q: 0.5 },
      { type: 'application', subtype: 'vnd.oci.image.index.v1+json', q: 1 },
      { type: '*', subtype: '*', q: 0.1 },
    ])
  })
  test('malformed entries are skipped', () => {
    expect(parseAccept('garbage, , /x, a/, */json, text/html;q=abc')).toEqual([{ type: 'text', subtype: 'html', q: 1 }])
  })
  test('absent', () => {
    expect(parseAccept(null)).toEqual([])
    expect(parseAccept(undefined)).toEqual([])
    expect(parseAccept([])).toEqual([])
  })
  test('q is clamped', () => {
    expect(parseAccept('a/b;q=7')[0]!.q).toBe(1)
    expect(parseAccept('a/b;q=-1')[0]!.q).toBe(0)
  })
})

describe('isAcceptable', () => {
  test('no Accept → every stored type is served', () => {
    for (const t of ALL) {
      expect(isAcceptable(t, null)).toBe(true)
      expect(isAcceptable(t, '')).toBe(true)
      expect(isAcceptable(t, [])).toBe(true)
      expect(isAcceptable(t, 'garbage')).toBe(true) // nothing parseable = no preference
    }
  })

  test('stock clients get every type', () => {
    for (const t of ALL) {
      expect(isAcceptable(t, DOCKER_ACCEPT)).toBe(true)
      expect(isAcceptable(t, CONTAINERD_ACCEPT)).toBe(true)
    }
  })

  test('wildcards', () => {
    for (const t of ALL) {
      expect(isAcceptable(t, '*/*')).toBe(true)
      expect(isAcceptable(t, 'application/*')).toBe(true)
    }
    expect(isAcceptable(OCI_INDEX, 'text/*')).toBe(false)
  })

  test('exact type in one of several headers', () => {
    expect(isAcceptable(OCI_INDEX, ['text/plain', `${OCI_INDEX}; q=0.9`])).toBe(true)
  })

  test('a client accepting only Docker types cannot get OCI content (as distribution)', () => {
    expect(isAcceptable(OCI_INDEX, OLD_DOCKER_ACCEPT)).toBe(false)
    expect(isAcceptable(OCI_MANIFEST, OLD_DOCKER_ACCEPT)).toBe(false)
    expect(isAcceptable(DOCKER_MANIFEST_LIST, OLD_DOCKER_ACCEPT)).toBe(true)
  })

  test('application/json alone does not match +json manifest types', () => {
    expect(isAcceptable(OCI_MANIFEST, 'application/json')).toBe(false)
    expect(isAcceptable(DOCKER_MANIFEST_LIST, 'application/json')).toBe(false)
  })

  test('Docker schema 2 manifests are served even when not listed (distribution behaviour)', () => {
    expect(isAcceptable(DOCKER_MANIFEST, OCI_MANIFEST)).toBe(true)
    expect(isAcceptable(DOCKER_MANIFEST, 'application/json')).toBe(true)
  })

  test('q=0 excludes, and the most specific range wins', () => {
    expect(isAcceptable(OCI_INDEX, `${OCI_INDEX};q=0, */*`)).toBe(false)
    expect(isAcceptable(OCI_MANIFEST, `${OCI_INDEX};q=0, */*`)).toBe(true)
    expect(isAcceptable(OCI_INDEX, `application/*;q=0, ${OCI_INDEX}`)).toBe(true)
    expect(isAcceptable(OCI_INDEX, `*/*;q=0`)).toBe(false)
    // explicitly refused Docker manifest is not forced on the client
    expect(isAcceptable(DOCKER_MANIFEST, `${DOCKER_MANIFEST};q=0, ${OCI_MANIFEST}`)).toBe(false)
  })

  test('type matching is case-insensitive and ignores stored parameters', () => {
    expect(isAcceptable(`${OCI_INDEX}; charset=utf-8`, OCI_INDEX.toUpperCase())).toBe(true)
  })

  test('acceptQuality', () => {
    expect(acceptQuality(OCI_INDEX, `*/*;q=0.1, application/*;q=0.5, ${OCI_INDEX};q=0.8`)).toBe(0.8)
    expect(acceptQuality(OCI_INDEX, `*/*;q=0.1, application/*;q=0.5`)).toBe(0.5)
    expect(acceptQuality(OCI_INDEX, 'text/plain')).toBeUndefined()
  })
})

describe('negotiateManifest / assertAcceptable', () => {
  test('acceptable → undefined', () => {
    expect(negotiateManifest(OCI_INDEX, DOCKER_ACCEPT)).toBeUndefined()
    expect(() => assertAcceptable(OCI_INDEX, DOCKER_ACCEPT)).not.toThrow()
  })

  test('not acceptable → 404 MANIFEST_UNKNOWN with distribution messages', () => {
    const e = negotiateManifest(OCI_INDEX, OLD_DOCKER_ACCEPT)!
    expect(e).toBeInstanceOf(RegistryError)
    expect(e.code).toBe('MANIFEST_UNKNOWN')
    expect(e.status).toBe(404)
    expect(e.message).toBe('OCI index found, but accept header does not support OCI indexes')
    expect(e.detail).toEqual({ mediaType: OCI_INDEX })
    expect(negotiateManifest(OCI_MANIFEST, DOCKER_MANIFEST)!.message).toBe(
      'OCI manifest found, but accept header does not support OCI manifests',
    )
    expect(negotiateManifest(DOCKER_MANIFEST_LIST, OCI_MANIFEST)!.message).toContain('manifest list')
    try {
      assertAcceptable(OCI_MANIFEST, DOCKER_MANIFEST)
      throw new Error('unreachable')
    } catch (err) {
      expect(hasErrorCode(err, 'MANIFEST_UNKNOWN')).toBe(true)
    }
  })
})
