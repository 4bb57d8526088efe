import { describe, expect, test } from 'bun:test'

import {
  bearerChallenge,
  ERROR_CODES,
  errors,
  hasErrorCode,
  RegistryError,
  registryErrorResponse,
  unauthorizedResponse,
  type ErrorCode,
} from '../../../src/oci/index.ts'

async function body(res: Response) {
  return (await res.json()) as { errors: { code: string; message: string; detail?: unknown }[] }
}

describe('error code table', () => {
  const expected: Record<ErrorCode, number> = {
    BLOB_UNKNOWN: 404,
    BLOB_UPLOAD_INVALID: 400,
    BLOB_UPLOAD_UNKNOWN: 404,
    DIGEST_INVALID: 400,
    MANIFEST_BLOB_UNKNOWN: 400,
    MANIFEST_INVALID: 400,
    MANIFEST_UNKNOWN: 404,
    NAME_INVALID: 400,
    NAME_UNKNOWN: 404,
    SIZE_INVALID: 400,
    UNAUTHORIZED: 401,
    DENIED: 403,
    UNSUPPORTED: 405,
    TOOMANYREQUESTS: 429,
    MANIFEST_UNVERIFIED: 400,
    TAG_INVALID: 400,
    PAGINATION_NUMBER_INVALID: 400,
    RANGE_INVALID: 416,
    UNAVAILABLE: 503,
    UNKNOWN: 500,
  }

  for (const [code, status] of Object.entries(expected) as [ErrorCode, number][]) {
    test(`${code} → ${status}, served as JSON`, async () => {
      expect(ERROR_CODES[code].status).toBe(status)
      const res = registryErrorResponse(new RegistryError(code))
      expect(res.status).toBe(status)
      expect(res.headers.get('content-type')).toBe('application/json')
      const b = await body(res)
      expect(b.errors).toHaveLength(1)
      expect(b.errors[0]!.code).toBe(code)
      expect(b.errors[0]!.message).toBe(ERROR_CODES[code].message)
      expect('detail' in b.errors[0]!).toBe(false)
    })
  }

  test('codes are uppercase letters and underscores (spec)', () => {
    for (const code of Object.keys(ERROR_CODES)) expect(code).toMatch(/^[A-Z_]+$/)
  })

  test('spec messages for the spec codes', () => {
    expect(ERROR_CODES.BLOB_UNKNOWN.message).toBe('blob unknown to registry')
    expect(ERROR_CODES.DIGEST_INVALID.message).toBe('provided digest did not match uploaded content')
    expect(ERROR_CODES.MANIFEST_BLOB_UNKNOWN.message).toBe('manifest references a manifest or blob unknown to registry')
    expect(ERROR_CODES.DENIED.message).toBe('requested access to the resource is denied')
  })
})

describe('factories', () => {
  test('detail shapes', () => {
    const d = 'sha256:' + 'a'.repeat(64)
    expect(errors.blobUnknown(d).toJSON()).toEqual({ code: 'BLOB_UNKNOWN', message: 'blob unknown to registry', detail: { digest: d } })
    expect(errors.manifestBlobUnknown(d).detail).toEqual({ digest: d })
    expect(errors.nameInvalid('A/b', 'uppercase').detail).toEqual({ name: 'A/b', reason: 'uppercase' })
    expect(errors.nameUnknown('alice.test/app').status).toBe(404)
    expect(errors.manifestInvalid('config is required').detail).toBe('config is required')
    expect(errors.tagInvalid('.x').code).toBe('TAG_INVALID')
    expect(errors.paginationNumberInvalid('-1').detail).toEqual({ n: '-1' })
    expect(errors.blobUploadUnknown('u1').detail).toEqual({ uploadId: 'u1' })
  })

  test('manifestTooLarge is 413 MANIFEST_INVALID', () => {
    const e = errors.manifestTooLarge(5_000_000, 4_194_304)
    expect(e.code).toBe('MANIFEST_INVALID')
    expect(e.status).toBe(413)
    expect(e.detail).toEqual({ size: 5_000_000, max: 4_194_304 })
  })

  test('rangeInvalid is 416 BLOB_UPLOAD_INVALID with a Range header', async () => {
    const e = errors.rangeInvalid(100)
    expect(e.code).toBe('BLOB_UPLOAD_INVALID')
    expect(e.status).toBe(416)
    const res = registryErrorResponse(e)
    expect(res.status).toBe(416)
    expect(res.headers.get('range')).toBe('0-99')
  })

  test('unsupported defaults to 405, 415 on request', () => {
    expect(errors.unsupported().status).toBe(405)
    expect(errors.unsupported('bad content type', 415).status).toBe(415)
    expect(errors.unsupported('x', 415).code).toBe('UNSUPPORTED')
  })

  test('tooManyRequests sets Retry-After', () => {
    const res = registryErrorResponse(errors.tooManyRequests(2.2))
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toBe('3')
  })

  test('hasErrorCode', () => {
    expect(hasErrorCode(errors.denied(), 'DENIED')).toBe(true)
    expect(hasErrorCode(errors.denied(), 'UNAUTHORIZED')).toBe(false)
    expect(hasErrorCode(new Error('x'), 'DENIED')).toBe(false)
  })

  test('RegistryError is an Error with a cause', () => {
    const cause = new Error('inner')
    const e = new RegistryError('UNAVAILABLE', { cause })
    expect(e).toBeInstanceOf(Error)
    expect(e.cause).toBe(cause)
    expect(e.name).toBe('RegistryError')
  })
})

describe('registryErrorResponse', () => {
  test('unknown errors become 500 UNKNOWN without details, and are logged', async () => {
    const logged: unknown[] = []
    const res = registryErrorResponse(new Error('connect ECONNREFUSED 10.0.0.5:443 token=secret'), {
      error: (_msg, err) => logged.push(err),
    })
    expect(res.status).toBe(500)
    const b = await body(res)
    expect(b.errors).toEqual([{ code: 'UNKNOWN', message: 'unknown error' }])
    expect(JSON.stringify(b)).not.toContain('secret')
    expect(logged).toHaveLength(1)
  })

  test('non-Error throwables too', async () => {
    expect(registryErrorResponse('boom').status).toBe(500)
    expect(registryErrorResponse(undefined).status).toBe(500)
    expect(registryErrorResponse([]).status).toBe(500)
  })

  test('several errors in one body, status of the first', async () => {
    const a = 'sha256:' + 'a'.repeat(64)
    const b = 'sha256:' + 'b'.repeat(64)
    const res = registryErrorResponse([errors.manifestBlobUnknown(a), errors.manifestBlobUnknown(b)])
    expect(res.status).toBe(400)
    const j = await body(res)
    expect(j.errors.map((e) => e.detail)).toEqual([{ digest: a }, { digest: b }])
  })
})

describe('unauthorized', () => {
  test('unauthorizedResponse sets WWW-Authenticate and 401', async () => {
    const challenge = bearerChallenge({
      realm: 'https://atcr.example/auth/token',
      service: 'atcr.example',
      scope: 'repository:alice.test/app:pull,push',
    })
    expect(challenge).toBe(
      'Bearer realm="https://atcr.example/auth/token",service="atcr.example",scope="repository:alice.test/app:pull,push"',
    )
    const res = unauthorizedResponse(challenge)
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe(challenge)
    expect((await body(res)).errors[0]!.code).toBe('UNAUTHORIZED')
  })

  test('challenge escapes quotes and joins scopes', () => {
    const c = bearerChallenge({ realm: 'a"b', service: 's\\', scope: ['repository:a/b:pull', 'registry:catalog:*'], error: 'insufficient_scope' })
    expect(c).toBe('Bearer realm="a\\"b",service="s\\\\",scope="repository:a/b:pull registry:catalog:*",error="insufficient_scope"')
  })

  test('a DENIED error passed in still answers 401', () => {
    expect(unauthorizedResponse('Bearer realm="x"', errors.denied()).status).toBe(401)
  })
})
