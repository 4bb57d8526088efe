import { describe, expect, test } from 'bun:test'

import {
  formatRepositoryName,
  formatScope,
  hasErrorCode,
  isValidRepositoryName,
  isValidRepositoryPath,
  isValidTag,
  MAX_NAME_LENGTH,
  parseReference,
  parseRepositoryName,
  parseScope,
  parseTag,
  RegistryError,
} from '../../../src/oci/index.ts'

function nameError(name: string): RegistryError {
  try {
    parseRepositoryName(name)
  } catch (e) {
    expect(hasErrorCode(e, 'NAME_INVALID')).toBe(true)
    expect((e as RegistryError).status).toBe(400)
    return e as RegistryError
  }
  throw new Error(`expected NAME_INVALID for ${JSON.stringify(name)}`)
}

describe('parseRepositoryName', () => {
  test.each([
    ['alice.test/app', 'alice.test', 'handle', 'app'],
    ['alice.bsky.social/web', 'alice.bsky.social', 'handle', 'web'],
    ['alice.test/app/sub/deeper', 'alice.test', 'handle', 'app/sub/deeper'],
    ['my-name.example.com/a_b__c-d--e.f', 'my-name.example.com', 'handle', 'a_b__c-d--e.f'],
    ['4chan.org/x', '4chan.org', 'handle', 'x'],
    ['did:plc:abc/app/sub', 'did:plc:abc', 'did', 'app/sub'],
    ['did:plc:ewvi7nxzyoun6zhxrhs64oiz/myapp', 'did:plc:ewvi7nxzyoun6zhxrhs64oiz', 'did', 'myapp'],
    ['did:web:hold01.atcr.io/app', 'did:web:hold01.atcr.io', 'did', 'app'],
    ['did:web:localhost%3A2583/app', 'did:web:localhost%3A2583', 'did', 'app'],
  ])('%s', (name, identity, kind, repository) => {
    const r = parseRepositoryName(name)
    expect(r).toEqual({ name, identity, identityKind: kind as 'handle' | 'did', repository })
    expect(isValidRepositoryName(name)).toBe(true)
  })

  test.each([
    ['empty', ''],
    ['identity only', 'alice.test'],
    ['trailing slash', 'alice.test/'],
    ['leading slash', '/alice.test/app'],
    ['no repository, just handle slash slash', 'alice.test//app'],
    ['empty component', 'alice.test/a//b'],
    ['trailing slash after repo', 'alice.test/app/'],
    ['dot dot', 'alice.test/..'],
    ['dot dot in component', 'alice.test/a..b'],
    ['uppercase repo', 'alice.test/UPPER'],
    ['uppercase handle', 'Alice.test/app'],
    ['leading dash', 'alice.test/-leading'],
    ['trailing dash', 'alice.test/trailing-'],
    ['leading dot', 'alice.test/.hidden'],
    ['leading underscore', 'alice.test/_x'],
    ['triple underscore', 'alice.test/a___b'],
    ['colon in repo', 'alice.test/app:latest'],
    ['at sign', 'alice.test/app@x'],
    ['space', 'alice.test/my app'],
    ['single-label handle', 'alice/app'],
    ['handle with TLD starting with digit', 'alice.123/app'],
    ['handle with underscore', 'al_ice.test/app'],
    ['unsupported DID method', 'did:key:z6Mkabc/app'],
    ['malformed DID', 'did:plc:/app'],
    ['DID ending with colon', 'did:plc:abc:/app'],
    ['DID with uppercase method', 'did:PLC:abc/app'],
    ['only a DID', 'did:plc:abc'],
    ['unicode', 'alice.test/appé'],
  ])('%s → NAME_INVALID', (_label, name) => {
    nameError(name)
    expect(isValidRepositoryName(name)).toBe(false)
  })

  test('255 characters ok, 256 rejected', () => {
    const prefix = 'alice.test/'
    const ok = prefix + 'a'.repeat(MAX_NAME_LENGTH - prefix.length)
    expect(ok).toHaveLength(255)
    expect(parseRepositoryName(ok).repository).toHaveLength(255 - prefix.length)
    const tooLong = ok + 'a'
    expect(tooLong).toHaveLength(256)
    expect((nameError(tooLong).detail as { reason: string }).reason).toContain('255')
  })

  test('reasons are helpful', () => {
    expect((nameError('Alice.test/app').detail as { reason: string }).reason).toContain('lowercase')
    expect((nameError('did:key:z6Mkabc/app').detail as { reason: string }).reason).toContain('did:plc')
    expect((nameError('alice.test').detail as { reason: string }).reason).toContain('<handle-or-did>/<repository>')
  })

  test('isValidRepositoryPath / formatRepositoryName', () => {
    expect(isValidRepositoryPath('app/sub')).toBe(true)
    expect(isValidRepositoryPath('App')).toBe(false)
    expect(isValidRepositoryPath('')).toBe(false)
    expect(formatRepositoryName('did:plc:abc', 'app')).toBe('did:plc:abc/app')
    expect(() => formatRepositoryName('alice.test', 'a//b')).toThrow(RegistryError)
  })
})

describe('tags', () => {
  test.each(['latest', 'v1.2.3', '_private', 'A-Z_a.z-0', '1', 'a'.repeat(128), 'sha256-' + 'a'.repeat(64) + '.sig'])(
    'valid: %s',
    (tag) => {
      expect(isValidTag(tag)).toBe(true)
      expect(parseTag(tag)).toBe(tag)
    },
  )

  test.each(['', '.leading', '-leading', 'a'.repeat(129), 'has space', 'colon:x', 'slash/x', 'plus+x', 'é'])('invalid: %j', (tag) => {
    expect(isValidTag(tag)).toBe(false)
    try {
      parseTag(tag)
      throw new Error('unreachable')
    } catch (e) {
      expect(hasErrorCode(e, 'TAG_INVALID')).toBe(true)
      expect((e as RegistryError).status).toBe(400)
    }
  })

  test('isValidTag on non-strings', () => {
    expect(isValidTag(undefined)).toBe(false)
    expect(isValidTag(1)).toBe(false)
  })
})

describe('parseReference', () => {
  const d = 'sha256:' + 'c'.repeat(64)
  test('tag and digest', () => {
    expect(parseReference('latest')).toEqual({ kind: 'tag', tag: 'latest' })
    expect(parseReference(d)).toEqual({ kind: 'digest', digest: d })
  })
  test('anything with a colon is a digest attempt', () => {
    for (const r of ['sha256:baddigeststring', 'md5:abc', `sha256:${'C'.repeat(64)}`]) {
      try {
        parseReference(r)
        throw new Error('unreachable')
      } catch (e) {
        expect(hasErrorCode(e, 'DIGEST_INVALID')).toBe(true)
      }
    }
  })
  test('bad tags', () => {
    for (const r of ['', '.x', 'a'.repeat(129)]) {
      expect(() => parseReference(r)).toThrow(RegistryError)
    }
  })
})

describe('parseScope', () => {
  test('handle repository', () => {
    expect(parseScope('repository:alice.test/app:pull,push')).toEqual([
      { type: 'repository', name: 'alice.test/app', actions: ['pull', 'push'] },
    ])
  })

  test('DID names keep their colons; the last colon separates actions', () => {
    expect(parseScope('repository:did:plc:abc123/app/sub:pull')).toEqual([
      { type: 'repository', name: 'did:plc:abc123/app/sub', actions: ['pull'] },
    ])
    expect(parseScope('repository:did:web:localhost%3A2583/app:push,pull')).toEqual([
      { type: 'repository', name: 'did:web:localhost%3A2583/app', actions: ['push', 'pull'] },
    ])
  })

  test('registry catalog and host:port names', () => {
    expect(parseScope('registry:catalog:*')).toEqual([{ type: 'registry', name: 'catalog', actions: ['*'] }])
    expect(parseScope('repository:localhost:5000/alice.test/app:pull')).toEqual([
      { type: 'repository', name: 'localhost:5000/alice.test/app', actions: ['pull'] },
    ])
  })

  test('space-separated and array forms, class suffix dropped, duplicates merged', () => {
    expect(
      parseScope(['repository:alice.test/a:pull repository(plugin):alice.test/b:push,pull,push', 'registry:catalog:*']),
    ).toEqual([
      { type: 'repository', name: 'alice.test/a', actions: ['pull'] },
      { type: 'repository', name: 'alice.test/b', actions: ['push', 'pull'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ])
  })

  test('invalid parts are ignored', () => {
    expect(parseScope('')).toEqual([])
    expect(parseScope(null)).toEqual([])
    expect(parseScope(undefined)).toEqual([])
    expect(
      parseScope(
        [
          'garbage',
          'repository:alice.test/app', // no actions
          'repository:alice.test/app:', // empty actions
          ':alice.test/app:pull', // no type
          'Repository:alice.test/app:pull', // uppercase type
          'repository::pull', // empty name
          'repository:alice.test/app:PULL', // bad action
          'repository:alice.test/app:pull,', // trailing comma keeps pull
        ].join(' '),
      ),
    ).toEqual([{ type: 'repository', name: 'alice.test/app', actions: ['pull'] }])
  })

  test('unknown action words are kept for the caller to decide', () => {
    expect(parseScope('repository:alice.test/app:delete')[0]!.actions).toEqual(['delete'])
  })

  test('formatScope is the inverse', () => {
    const s = 'repository:did:plc:abc/app:pull,push'
    expect(formatScope(parseScope(s)[0]!)).toBe(s)
  })
})
