import { describe, expect, test } from 'bun:test'
import { createHash } from 'node:crypto'

import {
  assertSha256,
  DigestVerifier,
  digestOf,
  hasErrorCode,
  isSha256,
  isValidDigest,
  parseDigest,
  RegistryError,
} from '../../../src/oci/index.ts'

const HEX64 = 'a'.repeat(64)
const HEX128 = 'b'.repeat(128)

function expectDigestInvalid(s: string) {
  let err: unknown
  try {
    parseDigest(s)
  } catch (e) {
    err = e
  }
  expect(err).toBeInstanceOf(RegistryError)
  expect(hasErrorCode(err, 'DIGEST_INVALID')).toBe(true)
  expect((err as RegistryError).status).toBe(400)
  return err as RegistryError
}

describe('parseDigest', () => {
  test('sha256 and sha512', () => {
    expect(parseDigest(`sha256:${HEX64}`)).toEqual({ algorithm: 'sha256', encoded: HEX64, digest: `sha256:${HEX64}` })
    expect(parseDigest(`sha512:${HEX128}`).algorithm).toBe('sha512')
  })

  test.each([
    ['uppercase hex', `sha256:${'A'.repeat(64)}`],
    ['mixed case hex', `sha256:${'a'.repeat(63)}F`],
    ['63 chars', `sha256:${'a'.repeat(63)}`],
    ['65 chars', `sha256:${'a'.repeat(65)}`],
    ['empty encoded', 'sha256:'],
    ['empty', ''],
    ['unknown algorithm', `md5:${'a'.repeat(32)}`],
    ['blake3 (registered but not computable here)', `blake3:${HEX64}`],
    ['uppercase algorithm', `SHA256:${HEX64}`],
    ['no colon', HEX64],
    ['sha512 with sha256 length', `sha512:${HEX64}`],
    ['sha256 with sha512 length', `sha256:${HEX128}`],
    ['non-hex', `sha256:${'g'.repeat(64)}`],
    ['whitespace', ` sha256:${HEX64}`],
    ['trailing newline', `sha256:${HEX64}\n`],
    ['conformance bad digest', 'sha256:baddigeststring'],
  ])('%s → DIGEST_INVALID', (_name, s) => {
    expectDigestInvalid(s)
    expect(isValidDigest(s)).toBe(false)
  })

  test('reasons are specific', () => {
    expect((expectDigestInvalid(`md5:${'a'.repeat(32)}`).detail as { reason: string }).reason).toContain('unsupported digest algorithm')
    expect((expectDigestInvalid(`sha256:${'A'.repeat(64)}`).detail as { reason: string }).reason).toContain('lowercase')
    expect((expectDigestInvalid(`sha256:${'a'.repeat(63)}`).detail as { reason: string }).reason).toContain('64')
  })

  test('isValidDigest / isSha256 on non-strings', () => {
    expect(isValidDigest(undefined)).toBe(false)
    expect(isValidDigest(42)).toBe(false)
    expect(isSha256(null)).toBe(false)
  })

  test('isSha256 / assertSha256', () => {
    expect(isSha256(`sha256:${HEX64}`)).toBe(true)
    expect(isSha256(`sha512:${HEX128}`)).toBe(false)
    expect(assertSha256(`sha256:${HEX64}`).encoded).toBe(HEX64)
    expect(() => assertSha256(`sha512:${HEX128}`)).toThrow(RegistryError)
  })
})

describe('digestOf', () => {
  test('matches node:crypto for sha256 and sha512', () => {
    const bytes = new TextEncoder().encode('hello world')
    expect(digestOf(bytes)).toBe(`sha256:${createHash('sha256').update(bytes).digest('hex')}`)
    expect(digestOf(bytes, 'sha512')).toBe(`sha512:${createHash('sha512').update(bytes).digest('hex')}`)
  })

  test('empty content and the OCI empty JSON blob', () => {
    expect(digestOf(new Uint8Array())).toBe('sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
    expect(digestOf('{}')).toBe('sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a')
  })

  test('results are valid digests', () => {
    expect(isValidDigest(digestOf('x'))).toBe(true)
    expect(isValidDigest(digestOf('x', 'sha512'))).toBe(true)
  })
})

describe('DigestVerifier', () => {
  const data = new Uint8Array(100_000).map((_, i) => i % 251)

  test('chunked hashing equals one-shot; size counts bytes', () => {
    const v = new DigestVerifier()
    for (let i = 0; i < data.length; i += 7_777) v.update(data.subarray(i, i + 7_777))
    expect(v.size).toBe(data.length)
    expect(v.digest()).toBe(digestOf(data))
    expect(v.digest()).toBe(digestOf(data)) // cached
    expect(v.matches(digestOf(data))).toBe(true)
  })

  test('for(expected) picks the algorithm', () => {
    const want = digestOf(data, 'sha512')
    const v = DigestVerifier.for(want).update(data)
    expect(v.algorithm).toBe('sha512')
    expect(v.verify(want, data.length)).toBe(want)
  })

  test('verify throws DIGEST_INVALID on mismatch and SIZE_INVALID on size', () => {
    const v = new DigestVerifier().update(data)
    expect(() => v.verify(`sha256:${HEX64}`)).toThrow(RegistryError)
    try {
      v.verify(`sha256:${HEX64}`)
    } catch (e) {
      expect(hasErrorCode(e, 'DIGEST_INVALID')).toBe(true)
    }
    try {
      v.verify(digestOf(data), 1)
      throw new Error('unreachable')
    } catch (e) {
      expect(hasErrorCode(e, 'SIZE_INVALID')).toBe(true)
    }
  })

  test('for() refuses malformed expected digests', () => {
    expect(() => DigestVerifier.for('md5:abc')).toThrow(RegistryError)
  })

  test('update after digest is a programming error', () => {
    const v = new DigestVerifier()
    v.digest()
    expect(() => v.update(new Uint8Array(1))).toThrow()
  })

  test('accepts ArrayBuffer chunks', () => {
    const v = new DigestVerifier().update(new TextEncoder().encode('ab').buffer as ArrayBuffer)
    expect(v.digest()).toBe(digestOf('ab'))
    expect(v.size).toBe(2)
  })
})
