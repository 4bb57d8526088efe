import { beforeAll, describe, expect, test } from 'bun:test'
import { createIdentityResolver, type IdentityResolver } from '../../src/atproto/identity.ts'
import { verifyServiceToken } from '../../src/atproto/service-auth.ts'
import { XrpcError } from '../../src/atproto/xrpc-error.ts'
import { type Pds, type TestUser, startPds } from '../harness/pds.ts'

const HOLD = 'did:web:hold.test'
const LXM = 'io.atcr.hold.initiateUpload'

let pds: Pds
let resolver: IdentityResolver
let alice: TestUser
let bob: TestUser

beforeAll(async () => {
  pds = await startPds()
  // The local PLC is configured explicitly (so allowed on loopback); the PDS answers for its .test handles.
  resolver = createIdentityResolver({ plcUrl: pds.plcUrl, handleResolverUrl: pds.pdsUrl })
  ;[alice, bob] = await Promise.all([pds.createUser('alice'), pds.createUser('bob')])
}, 90_000)

async function rejects(p: Promise<unknown>, error: string) {
  try {
    await p
  } catch (err) {
    expect(err).toBeInstanceOf(XrpcError)
    expect({ status: (err as XrpcError).status, error: (err as XrpcError).error }).toEqual({ status: 401, error })
    return
  }
  throw new Error(`expected ${error}, but the token was accepted`)
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')

describe('service tokens from the real PDS', () => {
  test('a getServiceAuth token for aud=did:web:hold.test verifies', async () => {
    const token = await alice.serviceToken(HOLD, LXM)
    const claims = await verifyServiceToken(token, { audience: HOLD, lxm: LXM, resolver })
    expect(claims.iss).toBe(alice.did)
    expect(claims.aud).toBe(HOLD)
    expect(claims.lxm).toBe(LXM)
    expect(claims.exp).toBeGreaterThan(Date.now() / 1000)
  })

  test('a one-hour token (the most getServiceAuth grants) verifies; a method-less token passes lxm: null', async () => {
    await verifyServiceToken(await alice.serviceToken(HOLD, LXM, 3600), { audience: HOLD, lxm: LXM, resolver })
    await verifyServiceToken(await alice.serviceToken(HOLD), { audience: HOLD, lxm: null, resolver })
    await rejects(verifyServiceToken(await alice.serviceToken(HOLD), { audience: HOLD, lxm: LXM, resolver }), 'BadJwtLexiconMethod')
  })

  test('tokens minted with an app password verify too', async () => {
    const { AtpAgent } = await import('@atproto/api')
    const agent = new AtpAgent({ service: pds.pdsUrl })
    await agent.login({ identifier: alice.handle, password: await alice.appPassword() })
    const res = await agent.com.atproto.server.getServiceAuth({ aud: HOLD, lxm: LXM })
    expect((await verifyServiceToken(res.data.token, { audience: HOLD, lxm: LXM, resolver })).iss).toBe(alice.did)
  })

  test('wrong audience and wrong method are rejected', async () => {
    const token = await alice.serviceToken(HOLD, LXM)
    await rejects(verifyServiceToken(token, { audience: 'did:web:other-hold.test', lxm: LXM, resolver }), 'BadJwtAudience')
    await rejects(verifyServiceToken(token, { audience: HOLD, lxm: 'io.atcr.hold.deleteBlob', resolver }), 'BadJwtLexiconMethod')
    const other = await alice.serviceToken('did:web:other-hold.test', LXM)
    await rejects(verifyServiceToken(other, { audience: HOLD, lxm: LXM, resolver }), 'BadJwtAudience')
  })

  test('a token from user A cannot pass as user B', async () => {
    const aToken = await alice.serviceToken(HOLD, LXM)
    const claims = await verifyServiceToken(aToken, { audience: HOLD, lxm: LXM, resolver })
    expect(claims.iss).toBe(alice.did)
    expect(claims.iss).not.toBe(bob.did)
    // Rewriting iss to B keeps A's signature, which B's key does not verify.
    const [h, p, s] = aToken.split('.') as [string, string, string]
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString())
    const asBob = `${h}.${b64({ ...payload, iss: bob.did })}.${s}`
    await rejects(verifyServiceToken(asBob, { audience: HOLD, lxm: LXM, resolver }), 'BadJwtSignature')
  })

  test('expired tokens are rejected', async () => {
    const token = await alice.serviceToken(HOLD, LXM)
    await rejects(verifyServiceToken(token, { audience: HOLD, lxm: LXM, resolver, now: () => Date.now() + 120_000 }), 'JwtExpired')
  })

  test('the resolver finds the #atproto key, the PDS and the .test handle (via the PDS)', async () => {
    const key = await resolver.resolveAtprotoKey(alice.did)
    expect(key).toMatch(/^did:key:z/)
    expect(await resolver.resolvePds(alice.did)).toBe(pds.pdsUrl)
    expect(await resolver.resolveHandle(alice.handle)).toBe(alice.did)
    expect(await resolver.resolveHandle(`nobody${Date.now()}.test`)).toBeNull()
    // Without a handle resolver, .test handles are not looked up at all (they never resolve in public DNS).
    const plain = createIdentityResolver({ plcUrl: pds.plcUrl, timeoutMs: 1000 })
    expect(await plain.resolveHandle(alice.handle)).toBeNull()
  })
})
