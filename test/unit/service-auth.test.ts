import { describe, expect, test } from 'bun:test'
import { type Keypair, P256Keypair, Secp256k1Keypair } from '@atproto/crypto'
import {
  createGuardedFetch,
  createIdentityResolver,
  IdentityError,
  isPrivateHost,
  type IdentityResolver,
} from '../../src/atproto/identity.ts'
import { verifyServiceToken } from '../../src/atproto/service-auth.ts'
import { XrpcError } from '../../src/atproto/xrpc-error.ts'

const HOLD = 'did:web:hold.test'
const LXM = 'io.atcr.hold.initiateUpload'
const ALICE = 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa'
const BOB = 'did:plc:bbbbbbbbbbbbbbbbbbbbbbbb'

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
const nowSec = () => Math.floor(Date.now() / 1000)

/** Signs a JWT like the PDS does (header `{typ, alg}` + claims), with overridable header fields. */
async function mint(key: Keypair, claims: Record<string, unknown>, header: Record<string, unknown> = {}) {
  const signing = `${b64({ typ: 'JWT', alg: key.jwtAlg, ...header })}.${b64(claims)}`
  const sig = await key.sign(new TextEncoder().encode(signing))
  return `${signing}.${Buffer.from(sig).toString('base64url')}`
}
const claims = (over: Record<string, unknown> = {}) => ({
  iss: ALICE,
  aud: HOLD,
  lxm: LXM,
  iat: nowSec(),
  exp: nowSec() + 60,
  jti: crypto.randomUUID(),
  ...over,
})

/** A resolver from a fixed table of keys, counting lookups. */
function fakeResolver(keys: Record<string, string | Error>) {
  const calls: { did: string; force: boolean }[] = []
  const resolver: Pick<IdentityResolver, 'resolveAtprotoKey'> = {
    async resolveAtprotoKey(did, force = false) {
      calls.push({ did, force })
      const k = keys[did]
      if (k === undefined) throw new IdentityError('not_found', `no ${did}`)
      if (k instanceof Error) throw k
      return k
    },
  }
  return { resolver, calls, keys }
}

async function rejects(p: Promise<unknown>, error: string, status = 401): Promise<XrpcError> {
  try {
    await p
  } catch (err) {
    expect(err).toBeInstanceOf(XrpcError)
    const e = err as XrpcError
    expect({ status: e.status, error: e.error }).toEqual({ status, error })
    return e
  }
  throw new Error(`expected ${error}, but the token was accepted`)
}

const k256 = await Secp256k1Keypair.create()
const p256 = await P256Keypair.create()
const other = await Secp256k1Keypair.create()

describe('verifyServiceToken', () => {
  const { resolver, calls } = fakeResolver({ [ALICE]: k256.did(), [BOB]: p256.did() })
  const opts = { audience: HOLD, lxm: LXM, resolver }

  test('accepts a valid ES256K token and returns its claims', async () => {
    const c = claims()
    const got = await verifyServiceToken(await mint(k256, c), opts)
    expect(got).toEqual({ iss: ALICE, aud: HOLD, lxm: LXM, exp: c.exp, iat: c.iat, jti: c.jti })
  })

  test('accepts a valid ES256 (P-256) token', async () => {
    const got = await verifyServiceToken(await mint(p256, claims({ iss: BOB })), opts)
    expect(got.iss).toBe(BOB)
  })

  test('lxm null accepts any method and tokens without lxm; audience may be a list', async () => {
    const { lxm: _, ...noLxm } = claims()
    await verifyServiceToken(await mint(k256, noLxm), { ...opts, lxm: null })
    await verifyServiceToken(await mint(k256, claims({ lxm: 'com.example.other' })), { ...opts, lxm: null })
    await verifyServiceToken(await mint(k256, claims()), { ...opts, audience: ['did:web:a.test', HOLD] })
  })

  test('rejects expired tokens (JwtExpired)', async () => {
    await rejects(verifyServiceToken(await mint(k256, claims({ iat: nowSec() - 120, exp: nowSec() - 1 })), opts), 'JwtExpired')
    // The injected clock is used.
    const t = await mint(k256, claims())
    await rejects(verifyServiceToken(t, { ...opts, now: () => Date.now() + 61_000 }), 'JwtExpired')
  })

  test('rejects a wrong audience (BadJwtAudience)', async () => {
    await rejects(verifyServiceToken(await mint(k256, claims({ aud: 'did:web:other.test' })), opts), 'BadJwtAudience')
    await rejects(verifyServiceToken(await mint(k256, claims({ aud: `${HOLD}#atcr_hold` })), opts), 'BadJwtAudience')
  })

  test('rejects a wrong or missing lxm (BadJwtLexiconMethod)', async () => {
    await rejects(verifyServiceToken(await mint(k256, claims({ lxm: 'io.atcr.hold.deleteBlob' })), opts), 'BadJwtLexiconMethod')
    const { lxm: _, ...noLxm } = claims()
    const e = await rejects(verifyServiceToken(await mint(k256, noLxm), opts), 'BadJwtLexiconMethod')
    expect(e.message).toContain('missing')
  })

  test('rejects a forged signature (another key), after exactly one forced key refresh', async () => {
    calls.length = 0
    await rejects(verifyServiceToken(await mint(other, claims()), opts), 'BadJwtSignature')
    expect(calls).toEqual([
      { did: ALICE, force: false },
      { did: ALICE, force: true },
    ])
  })

  test('rejects a token signed by one user but claiming another issuer', async () => {
    // Signed with Alice's key, iss = Bob.
    await rejects(verifyServiceToken(await mint(k256, claims({ iss: BOB }), { alg: 'ES256' }), opts), 'BadJwtSignature')
  })

  test('rejects a tampered payload', async () => {
    const t = await mint(k256, claims())
    const [h, , s] = t.split('.')
    const forged = `${h}.${b64(claims({ lxm: LXM, exp: nowSec() + 600 }))}.${s}`
    await rejects(verifyServiceToken(forged, opts), 'BadJwtSignature')
  })

  test('rejects alg none, HS256 and an alg that does not match the key', async () => {
    const c = claims()
    const none = `${b64({ typ: 'JWT', alg: 'none' })}.${b64(c)}.`
    await rejects(verifyServiceToken(none, opts), 'BadJwt')
    const noneSig = `${b64({ typ: 'JWT', alg: 'none' })}.${b64(c)}.AAAA`
    await rejects(verifyServiceToken(noneSig, opts), 'BadJwt')
    await rejects(verifyServiceToken(await mint(k256, c, { alg: 'HS256' }), opts), 'BadJwt')
    await rejects(verifyServiceToken(await mint(k256, c, { alg: 'RS256' }), opts), 'BadJwt')
    // ES256 header on a secp256k1 key: the key's algorithm is not the token's.
    await rejects(verifyServiceToken(await mint(k256, c, { alg: 'ES256' }), opts), 'BadJwtSignature')
  })

  test('rejects tokens of other JWT types (BadJwtType)', async () => {
    await rejects(verifyServiceToken(await mint(k256, claims(), { typ: 'at+jwt' }), opts), 'BadJwtType')
    await rejects(verifyServiceToken(await mint(k256, claims(), { typ: 'dpop+jwt' }), opts), 'BadJwtType')
  })

  test('rejects malformed tokens (BadJwt)', async () => {
    const good = await mint(k256, claims())
    const [h, p, s] = good.split('.') as [string, string, string]
    const bad = [
      '',
      'abc',
      'a.b',
      `${h}.${p}`,
      `${h}.${p}.${s}.x`,
      `${h}.${p}.${s}=`,
      `${h}.not json!.${s}`,
      `${b64('str')}.${p}.${s}`,
      `${h}.${Buffer.from('not json').toString('base64url')}.${s}`,
      `${h}.${b64([1, 2])}.${s}`,
      `${h}.${b64({ iss: ALICE, aud: HOLD, lxm: LXM })}.${s}`, // no exp
      `${h}.${b64(claims({ exp: String(nowSec() + 60) }))}.${s}`,
      `${h}.${b64(claims({ iss: 42 }))}.${s}`,
      `${h}.${b64(claims({ lxm: 7 }))}.${s}`,
      `${b64({ alg: 'ES256K', crit: ['b64'] })}.${p}.${s}`,
      'x'.repeat(9000),
    ]
    for (const t of bad) await rejects(verifyServiceToken(t, opts), 'BadJwt')
  })

  test('rejects lifetimes beyond maxLifetimeSeconds (default 3600)', async () => {
    const t0 = nowSec()
    await verifyServiceToken(await mint(k256, claims({ iat: t0, exp: t0 + 3600 })), opts)
    await rejects(verifyServiceToken(await mint(k256, claims({ iat: t0, exp: t0 + 3601 })), opts), 'BadJwt')
    await rejects(verifyServiceToken(await mint(k256, claims({ iat: t0, exp: t0 + 86400 })), opts), 'BadJwt')
    // Without iat, the remaining lifetime is what counts.
    const { iat: _, ...noIat } = claims({ exp: t0 + 7200 })
    await rejects(verifyServiceToken(await mint(k256, noIat), opts), 'BadJwt')
    // A tighter bound.
    await rejects(
      verifyServiceToken(await mint(k256, claims({ iat: t0, exp: t0 + 120 })), { ...opts, maxLifetimeSeconds: 60 }),
      'BadJwt',
    )
    // iat far in the future.
    await rejects(verifyServiceToken(await mint(k256, claims({ iat: t0 + 3000, exp: t0 + 3060 })), opts), 'BadJwt')
  })

  test('rejects issuers that are not bare did:plc / did:web account DIDs (BadJwtIss)', async () => {
    for (const iss of [`${ALICE}#atproto_labeler`, `${ALICE}#atproto`, k256.did(), 'did:example:123', 'alice.test', 'did:web:a.test:path']) {
      await rejects(verifyServiceToken(await mint(k256, claims({ iss })), opts), 'BadJwtIss')
    }
  })

  test('unknown issuer is BadJwtIss; an unreachable identity service is 502 UpstreamFailure', async () => {
    const { resolver } = fakeResolver({ [BOB]: new IdentityError('unavailable', 'plc down') })
    await rejects(verifyServiceToken(await mint(k256, claims()), { ...opts, resolver }), 'BadJwtIss')
    await rejects(verifyServiceToken(await mint(k256, claims({ iss: BOB })), { ...opts, resolver }), 'UpstreamFailure', 502)
  })
})

// ---- with the real IdentityResolver against a fake PLC directory ----

const PLC = 'https://plc.fake'

function didDoc(did: string, key: Keypair, handle = 'alice.test', pds = 'https://pds.fake') {
  return {
    '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'],
    id: did,
    alsoKnownAs: [`at://${handle}`],
    verificationMethod: [
      { id: `${did}#atproto`, type: 'Multikey', controller: did, publicKeyMultibase: key.did().slice('did:key:'.length) },
    ],
    service: [{ id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: pds }],
  }
}

/** A fake network: PLC documents by DID, plus arbitrary URL handlers; records every URL requested. */
function fakeNet() {
  const docs = new Map<string, unknown>()
  const routes = new Map<string, (url: URL) => Response>()
  const requested: string[] = []
  let delayMs = 0
  const fetch = (async (input: string | URL | Request) => {
    const url = new URL(input instanceof Request ? input.url : String(input))
    requested.push(url.href)
    if (delayMs) await Bun.sleep(delayMs)
    const route = routes.get(url.origin + url.pathname)
    if (route) return route(url)
    if (url.origin === PLC) {
      const doc = docs.get(decodeURIComponent(url.pathname.slice(1)))
      return doc ? Response.json(doc) : new Response('not found', { status: 404 })
    }
    return new Response('nope', { status: 404 })
  }) as unknown as typeof globalThis.fetch
  return {
    docs,
    routes,
    requested,
    fetch,
    setDelay: (ms: number) => (delayMs = ms),
    plcHits: (did: string) => requested.filter((u) => u === `${PLC}/${encodeURIComponent(did)}`).length,
  }
}

function clock(start = Date.now()) {
  let t = start
  return { now: () => t, advance: (ms: number) => (t += ms) }
}

describe('verifyServiceToken with key rotation (real IdentityResolver, fake PLC)', () => {
  test('old cached key → refresh → new key verifies', async () => {
    const net = fakeNet()
    const c = clock()
    const resolver = createIdentityResolver({ plcUrl: PLC, fetch: net.fetch, now: c.now, checkDns: false })
    const opts = { audience: HOLD, lxm: LXM, resolver }
    const oldKey = await Secp256k1Keypair.create()
    const newKey = await P256Keypair.create() // rotation may change the key type too
    net.docs.set(ALICE, didDoc(ALICE, oldKey))
    await verifyServiceToken(await mint(oldKey, claims()), opts)
    expect(net.plcHits(ALICE)).toBe(1)
    await verifyServiceToken(await mint(oldKey, claims()), opts) // cached
    expect(net.plcHits(ALICE)).toBe(1)

    net.docs.set(ALICE, didDoc(ALICE, newKey))
    await verifyServiceToken(await mint(newKey, claims()), opts)
    expect(net.plcHits(ALICE)).toBe(2)
    // The refreshed key is now cached; the old one is gone.
    await verifyServiceToken(await mint(newKey, claims()), opts)
    expect(net.plcHits(ALICE)).toBe(2)
    await rejects(verifyServiceToken(await mint(oldKey, claims()), opts), 'BadJwtSignature')
  })

  test('forced refreshes are rate-limited per DID: a flood of forged tokens costs one PLC request per interval', async () => {
    const net = fakeNet()
    const c = clock()
    const resolver = createIdentityResolver({ plcUrl: PLC, fetch: net.fetch, now: c.now, checkDns: false })
    const opts = { audience: HOLD, lxm: LXM, resolver }
    const key = await Secp256k1Keypair.create()
    net.docs.set(ALICE, didDoc(ALICE, key))
    net.docs.set(BOB, didDoc(BOB, other))

    const forged = await mint(other, claims())
    net.setDelay(5)
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => verifyServiceToken(forged, opts)))
    net.setDelay(0)
    expect(results.every((r) => r.status === 'rejected' && (r.reason as XrpcError).error === 'BadJwtSignature')).toBe(true)
    expect(net.plcHits(ALICE)).toBe(2) // first lookup + one forced refresh
    for (let i = 0; i < 20; i++) await rejects(verifyServiceToken(forged, opts), 'BadJwtSignature')
    expect(net.plcHits(ALICE)).toBe(2)

    // Other DIDs have their own budget.
    await rejects(verifyServiceToken(await mint(key, claims({ iss: BOB })), opts), 'BadJwtSignature')
    expect(net.plcHits(BOB)).toBe(2)

    // After the interval, one more forced refresh is allowed.
    c.advance(30_001)
    await rejects(verifyServiceToken(forged, opts), 'BadJwtSignature')
    await rejects(verifyServiceToken(forged, opts), 'BadJwtSignature')
    expect(net.plcHits(ALICE)).toBe(3)
  })

  test('a rotation right after a refused forced refresh is picked up once the interval passes', async () => {
    const net = fakeNet()
    const c = clock()
    const resolver = createIdentityResolver({ plcUrl: PLC, fetch: net.fetch, now: c.now, checkDns: false })
    const opts = { audience: HOLD, lxm: LXM, resolver, now: c.now }
    const oldKey = await Secp256k1Keypair.create()
    const newKey = await Secp256k1Keypair.create()
    net.docs.set(ALICE, didDoc(ALICE, oldKey))
    await rejects(verifyServiceToken(await mint(other, claims()), opts), 'BadJwtSignature') // uses the refresh
    net.docs.set(ALICE, didDoc(ALICE, newKey))
    const t = await mint(newKey, claims({ exp: nowSec() + 3600 }))
    await rejects(verifyServiceToken(t, opts), 'BadJwtSignature')
    c.advance(30_001)
    expect((await verifyServiceToken(t, opts)).iss).toBe(ALICE)
  })
})

describe('createIdentityResolver', () => {
  test('resolves DID documents, #atproto keys and PDS endpoints; sharing concurrent lookups', async () => {
    const net = fakeNet()
    const resolver = createIdentityResolver({ plcUrl: PLC, fetch: net.fetch, checkDns: false })
    net.docs.set(ALICE, didDoc(ALICE, k256))
    net.setDelay(10)
    const docs = await Promise.all(Array.from({ length: 10 }, () => resolver.resolveDid(ALICE)))
    expect(docs.every((d) => d?.id === ALICE)).toBe(true)
    expect(net.plcHits(ALICE)).toBe(1)
    expect(await resolver.resolveAtprotoKey(ALICE)).toBe(k256.did())
    expect(await resolver.resolvePds(ALICE)).toBe('https://pds.fake')
    expect(net.plcHits(ALICE)).toBe(1)
  })

  test('not found is null (and remembered); bad DIDs and documents are IdentityErrors', async () => {
    const net = fakeNet()
    const c = clock()
    const resolver = createIdentityResolver({ plcUrl: PLC, fetch: net.fetch, now: c.now, checkDns: false })
    expect(await resolver.resolveDid(BOB)).toBeNull()
    expect(await resolver.resolveDid(BOB)).toBeNull()
    expect(net.plcHits(BOB)).toBe(1)
    c.advance(61_000)
    expect(await resolver.resolveDid(BOB)).toBeNull()
    expect(net.plcHits(BOB)).toBe(2)
    await expect(resolver.resolveAtprotoKey(BOB)).rejects.toMatchObject({ kind: 'not_found' })

    for (const did of ['did:key:zQ3sh', 'did:plc:short', 'did:web:a.test:path', 'did:example:x', 'alice']) {
      await expect(resolver.resolveDid(did)).rejects.toMatchObject({ kind: 'invalid' })
    }
    expect(net.requested.length).toBe(2)

    net.docs.set(ALICE, { id: 'did:plc:cccccccccccccccccccccccc' }) // id mismatch
    await expect(resolver.resolveDid(ALICE)).rejects.toMatchObject({ kind: 'invalid' })
    const noKey = { ...didDoc(ALICE, k256), verificationMethod: [] }
    net.docs.set(ALICE, noKey)
    await expect(resolver.resolveAtprotoKey(ALICE, true)).rejects.toMatchObject({ kind: 'invalid' })

    const failing = createIdentityResolver({
      plcUrl: PLC,
      fetch: (async () => {
        throw new TypeError('connection refused')
      }) as unknown as typeof fetch,
    })
    await expect(failing.resolveDid(ALICE)).rejects.toMatchObject({ kind: 'unavailable' })
  })

  test('the cache is bounded (LRU) and entries go stale after cacheTtlMs (served while refreshing)', async () => {
    const net = fakeNet()
    const c = clock()
    const resolver = createIdentityResolver({ plcUrl: PLC, fetch: net.fetch, now: c.now, maxCacheEntries: 2, cacheTtlMs: 1000, checkDns: false })
    const dids = ['a', 'b', 'c'].map((ch) => `did:plc:${ch.repeat(24)}`)
    for (const d of dids) net.docs.set(d, didDoc(d, k256))
    for (const d of dids) await resolver.resolveDid(d)
    await resolver.resolveDid(dids[0]!) // evicted by the third → fetched again
    expect(net.plcHits(dids[0]!)).toBe(2)
    await resolver.resolveDid(dids[2]!)
    expect(net.plcHits(dids[2]!)).toBe(1)

    const rotated = await Secp256k1Keypair.create()
    net.docs.set(dids[2]!, didDoc(dids[2]!, rotated))
    c.advance(1001)
    expect(await resolver.resolveAtprotoKey(dids[2]!)).toBe(k256.did()) // stale copy, refresh started
    await Bun.sleep(10)
    expect(await resolver.resolveAtprotoKey(dids[2]!)).toBe(rotated.did())
    expect(net.plcHits(dids[2]!)).toBe(2)
  })

  test('did:web hosts on loopback/private networks are refused unless allowLoopback; the PLC is always allowed', async () => {
    const net = fakeNet()
    for (const host of ['localhost%3A8080', '127.0.0.1', '10.1.2.3', '192.168.0.10', '169.254.169.254', 'a.localhost']) {
      const resolver = createIdentityResolver({ plcUrl: PLC, fetch: net.fetch, checkDns: false })
      await expect(resolver.resolveDid(`did:web:${host}`)).rejects.toMatchObject({ kind: 'forbidden' })
    }
    expect(net.requested).toEqual([])

    const web = 'did:web:localhost%3A8080'
    net.routes.set('http://localhost:8080/.well-known/did.json', () => Response.json(didDoc(web, k256)))
    const loose = createIdentityResolver({ plcUrl: PLC, fetch: net.fetch, allowLoopback: true })
    expect(await loose.resolveAtprotoKey(web)).toBe(k256.did())

    // A local PLC is configured explicitly, so it is allowed.
    const localPlc = 'http://127.0.0.1:2582'
    net.routes.set(`${localPlc}/${encodeURIComponent(ALICE)}`, () => Response.json(didDoc(ALICE, k256)))
    const local = createIdentityResolver({ plcUrl: localPlc, fetch: net.fetch, checkDns: false })
    expect(await local.resolveAtprotoKey(ALICE)).toBe(k256.did())
  })

  test('public did:web hosts resolve; oversized documents are refused', async () => {
    const net = fakeNet()
    const resolver = createIdentityResolver({ plcUrl: PLC, fetch: net.fetch, checkDns: false })
    const good = 'did:web:good.example'
    net.routes.set('https://good.example/.well-known/did.json', () => Response.json(didDoc(good, k256)))
    expect(await resolver.resolveAtprotoKey(good)).toBe(k256.did())

    const big = 'did:web:big.example'
    net.routes.set('https://big.example/.well-known/did.json', () => new Response('x'.repeat(600_000)))
    await expect(resolver.resolveDid(big)).rejects.toBeInstanceOf(IdentityError)
  })

  test('the guarded fetch checks every redirect hop and refuses redirects when told to', async () => {
    const net = fakeNet()
    const redirect = (to: string) => () => new Response(null, { status: 302, headers: { location: to } })
    net.routes.set('https://evil.example/a', redirect('http://127.0.0.1/secret'))
    net.routes.set('https://good.example/a', redirect('/b'))
    net.routes.set('https://good.example/b', () => new Response('ok'))
    net.routes.set('https://loop.example/a', redirect('/a'))
    const f = createGuardedFetch(net.fetch, { checkDns: false })
    await expect(f('https://evil.example/a')).rejects.toThrow(/private host/)
    expect(net.requested).not.toContain('http://127.0.0.1/secret')
    expect(await (await f('https://good.example/a')).text()).toBe('ok')
    await expect(f('https://good.example/a', { redirect: 'error' })).rejects.toThrow(/redirect/)
    await expect(f('https://loop.example/a')).rejects.toThrow(/too many redirects/)
    await expect(f('file:///etc/passwd')).rejects.toThrow(/refused/)
    await expect(f('http://[::1]:8080/')).rejects.toThrow(/private host/)
    const loose = createGuardedFetch(net.fetch, { allowLoopback: true })
    await expect(loose('https://evil.example/a')).resolves.toBeInstanceOf(Response)
  })

  test('handles on reserved TLDs resolve to null without any request', async () => {
    const net = fakeNet()
    const resolver = createIdentityResolver({ plcUrl: PLC, fetch: net.fetch, checkDns: false })
    for (const h of ['alice.example', 'x.invalid', 'a.local', 'alice.test']) expect(await resolver.resolveHandle(h)).toBeNull()
    expect(net.requested).toEqual([])
  })

  test('handles resolve through a configured XRPC resolver and are verified both ways', async () => {
    const net = fakeNet()
    const svc = 'http://127.0.0.1:2583'
    const table: Record<string, string> = { 'alice.test': ALICE, 'liar.test': ALICE }
    net.routes.set(`${svc}/xrpc/com.atproto.identity.resolveHandle`, (url) => {
      const did = table[url.searchParams.get('handle') ?? '']
      return did ? Response.json({ did }) : Response.json({ error: 'InvalidRequest' }, { status: 400 })
    })
    net.docs.set(ALICE, didDoc(ALICE, k256, 'alice.test'))
    const resolver = createIdentityResolver({ plcUrl: PLC, handleResolverUrl: svc, fetch: net.fetch, checkDns: false })
    expect(await resolver.resolveHandle('Alice.Test')).toBe(ALICE)
    expect(await resolver.resolveHandle('@alice.test')).toBe(ALICE)
    expect(await resolver.resolveHandle('liar.test')).toBeNull() // the document does not claim it
    expect(await resolver.resolveHandle('nobody.test')).toBeNull()
    expect(await resolver.resolveHandle('not a handle')).toBeNull()
  })

  test('isPrivateHost', () => {
    for (const h of ['localhost', '127.0.0.1', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '[::1]', '::1', '[fd00::1]', '[fe80::1]', '[::ffff:7f00:1]', '0.0.0.0', '100.64.0.1']) {
      expect([h, isPrivateHost(h)]).toEqual([h, true])
    }
    for (const h of ['example.com', '8.8.8.8', '172.32.0.1', '[2606:4700::1111]', 'plc.directory']) {
      expect([h, isPrivateHost(h)]).toEqual([h, false])
    }
  })
})
