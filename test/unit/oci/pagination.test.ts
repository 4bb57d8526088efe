import { describe, expect, test } from 'bun:test'

import { hasErrorCode, nextPageLink, paginate, parsePageParams, RegistryError } from '../../../src/oci/index.ts'

function q(s: string) {
  return new URLSearchParams(s)
}

function expectInvalid(fn: () => unknown) {
  try {
    fn()
  } catch (e) {
    expect(hasErrorCode(e, 'PAGINATION_NUMBER_INVALID')).toBe(true)
    expect((e as RegistryError).status).toBe(400)
    return
  }
  throw new Error('expected PAGINATION_NUMBER_INVALID')
}

describe('parsePageParams', () => {
  test('absent and empty', () => {
    expect(parsePageParams(q(''))).toEqual({})
    expect(parsePageParams(q('n=&last='))).toEqual({})
  })
  test('valid n and last', () => {
    expect(parsePageParams(q('n=10&last=v1.0'))).toEqual({ n: 10, last: 'v1.0' })
    expect(parsePageParams(q('n=0'))).toEqual({ n: 0 })
    expect(parsePageParams({ n: '5', last: 'x' })).toEqual({ n: 5, last: 'x' })
  })
  test.each(['-1', 'abc', '1.5', '1e3', ' 1', '0x10', '+3'])('n=%j → PAGINATION_NUMBER_INVALID', (n) => {
    expectInvalid(() => parsePageParams({ n }))
  })
  test('over the cap: clamp by default (tags), reject on request (catalog)', () => {
    expect(parsePageParams(q('n=5000'), { max: 100 })).toEqual({ n: 100 })
    expect(parsePageParams(q('n=99999999999999999999'), { max: 100 })).toEqual({ n: 100 })
    expectInvalid(() => parsePageParams(q('n=101'), { max: 100, overMax: 'reject' }))
    expectInvalid(() => parsePageParams(q('n=99999999999999999999'), { max: 100, overMax: 'reject' }))
    expect(parsePageParams(q('n=100'), { max: 100, overMax: 'reject' })).toEqual({ n: 100 })
  })
})

describe('paginate', () => {
  const tags = ['a', 'b', 'c', 'd', 'e']
  test('all when n is absent', () => {
    expect(paginate(tags, {})).toEqual({ items: tags })
  })
  test('defaultN', () => {
    expect(paginate(tags, {}, { defaultN: 2 })).toEqual({ items: ['a', 'b'], next: 'b' })
  })
  test('pages through with last', () => {
    expect(paginate(tags, { n: 2 })).toEqual({ items: ['a', 'b'], next: 'b' })
    expect(paginate(tags, { n: 2, last: 'b' })).toEqual({ items: ['c', 'd'], next: 'd' })
    expect(paginate(tags, { n: 2, last: 'd' })).toEqual({ items: ['e'] })
    expect(paginate(tags, { n: 3, last: 'b' })).toEqual({ items: ['c', 'd', 'e'] }) // exactly the rest: no next
  })
  test('last need not be present in the list', () => {
    expect(paginate(tags, { n: 2, last: 'bb' })).toEqual({ items: ['c', 'd'], next: 'd' })
    expect(paginate(tags, { last: 'z' })).toEqual({ items: [] })
  })
  test('n=0 → empty, no next', () => {
    expect(paginate(tags, { n: 0 })).toEqual({ items: [] })
  })
  test('ASCII order: uppercase before lowercase', () => {
    expect(paginate(['B', 'a'], { last: 'B' })).toEqual({ items: ['a'] })
  })
  test('custom key', () => {
    const repos = [{ name: 'alice.test/a' }, { name: 'alice.test/b' }]
    expect(paginate(repos, { n: 1 }, { key: (r) => r.name })).toEqual({ items: [repos[0]!], next: 'alice.test/a' })
  })
})

describe('nextPageLink', () => {
  test('RFC 5988 Link with relative URL', () => {
    expect(nextPageLink('/v2/alice.test/app/tags/list', 10, 'v1.2')).toBe('</v2/alice.test/app/tags/list?n=10&last=v1.2>; rel="next"')
  })
  test('last is percent-encoded', () => {
    expect(nextPageLink('/v2/_catalog', 2, 'did:plc:abc/app')).toBe('</v2/_catalog?n=2&last=did%3Aplc%3Aabc%2Fapp>; rel="next"')
  })
})
