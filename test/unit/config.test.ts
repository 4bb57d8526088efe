import { describe, expect, test } from 'bun:test'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import YAML from 'yaml'
import { finishHoldConfig, HOLD_ENV_ALIASES, holdConfigSchema } from '../../src/config/hold.ts'
import { ConfigError, leaves, loadConfig } from '../../src/config/load.ts'
import { configTemplate } from '../../src/config/template.ts'
import { formatSize, parseDuration, parseSize } from '../../src/config/units.ts'

const load = (env: Record<string, string> = {}, yaml?: string) => {
  let file: string | undefined
  if (yaml !== undefined) {
    file = join(mkdtempSync(join(tmpdir(), 'atcr-cfg-')), 'c.yaml')
    writeFileSync(file, yaml)
  }
  return finishHoldConfig(loadConfig(holdConfigSchema, { envPrefix: 'HOLD', env, file, aliases: HOLD_ENV_ALIASES }).config)
}
const problems = (env: Record<string, string>, yaml?: string): string[] => {
  try {
    load(env, yaml)
  } catch (e) {
    if (e instanceof ConfigError) return e.problems
    throw e
  }
  throw new Error('expected a ConfigError')
}

describe('units', () => {
  test('sizes: decimal, binary, bare bytes; bad ones throw', () => {
    expect(parseSize('5GB')).toBe(5e9)
    expect(parseSize('1.5GiB')).toBe(1.5 * 2 ** 30)
    expect(parseSize('512')).toBe(512)
    expect(parseSize(42)).toBe(42)
    expect(() => parseSize('5 parsecs')).toThrow()
    expect(() => parseSize(-1)).toThrow()
    expect(formatSize(5e9)).toBe('5 GB')
    expect(formatSize(1234567)).toBe('1.23 MB')
  })
  test('durations: Go-style units and bare seconds', () => {
    expect(parseDuration('15m')).toBe(900)
    expect(parseDuration('1h30m')).toBe(5400)
    expect(parseDuration('500ms')).toBe(0.5)
    expect(parseDuration('90')).toBe(90)
    expect(() => parseDuration('15 minutes')).toThrow()
    expect(() => parseDuration('')).toThrow()
  })
})

describe('hold config layering', () => {
  test('embedded defaults: fs driver under the data dir, did:web from the listen port', () => {
    const c = load()
    expect(c.storage.driver).toBe('fs')
    expect(c.storage.root_dir).toBe('/var/lib/atcr-hold/blobs')
    expect(c.server.public_url).toBe('http://localhost:8080')
    expect(c.storage.presign_ttl).toBe(900)
    expect(c.storage.max_part_size).toBe(5 * 2 ** 30)
  })

  test('YAML overrides defaults; environment overrides YAML; HOLD_ names beat AWS aliases', () => {
    const c = load(
      { HOLD_SERVER_PUBLIC: 'true', S3_BUCKET: 'alias-bucket', HOLD_STORAGE_BUCKET: 'env-bucket', AWS_ACCESS_KEY_ID: 'ak', AWS_SECRET_ACCESS_KEY: 'sk', AWS_REGION: 'eu-1' },
      'server:\n  public: false\n  public_url: https://hold.example.com/\nstorage:\n  bucket: yaml-bucket\n  presign_ttl: 1h\n',
    )
    expect(c.server.public).toBe(true)
    expect(c.server.public_url).toBe('https://hold.example.com')
    expect(c.storage).toMatchObject({ bucket: 'env-bucket', driver: 's3', access_key: 'ak', secret_key: 'sk', region: 'eu-1', presign_ttl: 3600 })
  })

  test('every key has an env name built from its path', () => {
    const names = leaves(holdConfigSchema, 'HOLD').map((l) => l.envName)
    expect(names).toContain('HOLD_SERVER_PUBLIC_URL')
    expect(names).toContain('HOLD_REGISTRATION_OWNER_DID')
    expect(names).toContain('HOLD_DATABASE_PLC_DIRECTORY_URL')
    expect(names).toContain('HOLD_QUOTA_TIERS')
  })

  test('unknown keys and bad values are all listed, by key', () => {
    const p = problems({ HOLD_SERVER_PUBLIC: 'maybe' }, 'server:\n  publc: true\nstorage:\n  driver: ftp\nextra: 1\n')
    expect(p.some((x) => x.startsWith('server:') && x.includes('publc'))).toBe(true)
    expect(p.some((x) => x.includes('extra'))).toBe(true)
    expect(p.some((x) => x.startsWith('storage.driver'))).toBe(true)
    expect(p.some((x) => x.startsWith('server.public (from HOLD_SERVER_PUBLIC)'))).toBe(true)
  })

  test('cross-field checks: s3 needs credentials, default tier must exist, DIDs are checked', () => {
    expect(problems({ HOLD_STORAGE_DRIVER: 's3' }).sort()).toEqual(
      ['storage.access_key: required when storage.driver is s3', 'storage.bucket: required when storage.driver is s3', 'storage.secret_key: required when storage.driver is s3'].sort(),
    )
    expect(problems({ HOLD_QUOTA_DEFAULT_TIER: 'gold' })[0]).toStartWith('quota.default_tier')
    expect(problems({ HOLD_REGISTRATION_OWNER_DID: 'alice' })[0]).toStartWith('registration.owner_did')
    expect(problems({}, 'quota:\n  tiers:\n    deckhand: {quota: lots}\n')[0]).toStartWith('quota.tiers.deckhand.quota')
  })

  test('quota tiers from YAML or one env var; first tier is the default', () => {
    const c = load({ HOLD_QUOTA_TIERS: '{deckhand: {quota: 5GB}, bosun: {quota: 50GB, scan_on_push: true}}' })
    expect(c.quota.tiers).toEqual({ deckhand: { quota: 5e9, scan_on_push: false }, bosun: { quota: 50e9, scan_on_push: true } })
    expect(c.quota.default_tier).toBe('deckhand')
  })

  test('a missing config file is an error naming it', () => {
    expect(() => loadConfig(holdConfigSchema, { envPrefix: 'HOLD', env: {}, file: '/nonexistent/c.yaml' })).toThrow('/nonexistent/c.yaml')
  })
})

describe('config init template', () => {
  test('is valid YAML that loads back to the defaults, documents every key with its env name', () => {
    const text = configTemplate(holdConfigSchema, 'HOLD', 'test')
    const parsed = YAML.parse(text)
    const reloaded = holdConfigSchema.parse(parsed)
    expect(reloaded).toEqual(holdConfigSchema.parse({}))
    for (const l of leaves(holdConfigSchema, 'HOLD')) expect(text).toContain(`[${l.envName}]`)
    expect(text).toContain('presign_ttl: 15m')
    expect(text).toContain('# owner_did:')
  })
})
