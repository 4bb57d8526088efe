import { beforeAll, describe, expect, test } from 'bun:test'
import { AtpAgent } from '@atproto/api'
import { type Pds, startPds } from '../harness/pds.ts'

let pds: Pds

beforeAll(async () => {
  const t0 = performance.now()
  pds = await startPds()
  console.log(`pds harness: PLC ${pds.plcUrl}, PDS ${pds.pdsUrl}, started in ${Math.round(performance.now() - t0)} ms`)
}, 90_000)

const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))

describe('PDS harness (real PLC + PDS under node)', () => {
  test('startPds() is a singleton and serves on 127.0.0.1', async () => {
    expect(await startPds()).toBe(pds)
    const res = await fetch(`${pds.pdsUrl}/xrpc/com.atproto.server.describeServer`)
    expect(res.status).toBe(200)
    const desc = (await res.json()) as { availableUserDomains: string[]; inviteCodeRequired?: boolean }
    expect(desc.availableUserDomains).toContain('.test')
    expect(desc.inviteCodeRequired).toBeFalsy()
    expect(new URL(pds.pdsUrl).hostname).toBe('localhost')
  })

  test('creates unique, logged-in accounts', async () => {
    const [a, b] = await Promise.all([pds.createUser('alice'), pds.createUser('alice')])
    expect(a!.did).toMatch(/^did:plc:[a-z2-7]{24}$/)
    expect(a!.handle).toMatch(/^alice[a-z0-9]+\.test$/)
    expect(a!.did).not.toBe(b!.did)
    expect(a!.handle).not.toBe(b!.handle)
    expect(a!.agent.session?.did).toBe(a!.did)
    const session = await a!.agent.com.atproto.server.getSession()
    expect(session.data.handle).toBe(a!.handle)
    // The PDS resolves its own .test handles.
    const resolved = await a!.agent.com.atproto.identity.resolveHandle({ handle: a!.handle })
    expect(resolved.data.did).toBe(a!.did)
  })

  test('admin commands over stdin: createAccount, errors', async () => {
    const handle = `cmd${Date.now().toString(36).slice(-6)}.test`
    const acct = await pds.command<{ did: string; handle: string; accessJwt: string }>('createAccount', {
      handle,
      password: 'hunter22',
    })
    expect(acct.handle).toBe(handle)
    expect(acct.did).toMatch(/^did:plc:/)
    expect(acct.accessJwt.split('.')).toHaveLength(3)
    await expect(pds.command('createAccount', { handle, password: 'x' })).rejects.toThrow(/handle/i)
    await expect(pds.command('noSuchOp')).rejects.toThrow(/unknown op/)
  })

  test('writes and reads a record', async () => {
    const u = await pds.createUser('rec')
    const record = { $type: 'io.atcr.test', digest: 'sha256:abc', createdAt: new Date().toISOString() }
    const put = await u.agent.com.atproto.repo.putRecord({
      repo: u.did,
      collection: 'io.atcr.test',
      rkey: 'one',
      record,
      validate: false,
    })
    expect(put.data.uri).toBe(`at://${u.did}/io.atcr.test/one`)
    const reader = new AtpAgent({ service: pds.pdsUrl }) // unauthenticated read
    const got = await reader.com.atproto.repo.getRecord({ repo: u.did, collection: 'io.atcr.test', rkey: 'one' })
    expect(got.data.value).toEqual(record)
    expect(got.data.cid).toBe(put.data.cid)
  })

  test('app passwords log in', async () => {
    const u = await pds.createUser('app')
    const pw = await u.appPassword()
    expect(pw).toMatch(/^[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}$/)
    const a2 = new AtpAgent({ service: pds.pdsUrl })
    await a2.login({ identifier: u.handle, password: pw })
    expect(a2.session?.did).toBe(u.did)
  })

  test('getServiceAuth tokens carry iss = user DID and the asked aud / lxm / exp', async () => {
    const u = await pds.createUser('svc')
    const token = await u.serviceToken('did:web:hold.test', 'io.atcr.hold.initiateUpload')
    const [h, p] = token.split('.')
    const header = decode(h!)
    const payload = decode(p!)
    expect(header.alg).toBe('ES256K')
    expect(payload.iss).toBe(u.did)
    expect(payload.aud).toBe('did:web:hold.test')
    expect(payload.lxm).toBe('io.atcr.hold.initiateUpload')
    expect(payload.exp - payload.iat).toBe(60) // the PDS default lifetime
    const long = decode((await u.serviceToken('did:web:hold.test', 'io.atcr.hold.initiateUpload', 1800)).split('.')[1]!)
    expect(long.exp - Math.floor(Date.now() / 1000)).toBeGreaterThan(1790)
    const noLxm = decode((await u.serviceToken('did:web:hold.test')).split('.')[1]!)
    expect(noLxm.lxm).toBeUndefined()
  })

  test('the PLC serves a DID document with an #atproto key and an #atproto_pds service', async () => {
    const u = await pds.createUser('doc')
    const res = await fetch(`${pds.plcUrl}/${u.did}`)
    expect(res.status).toBe(200)
    const doc = (await res.json()) as {
      id: string
      alsoKnownAs: string[]
      verificationMethod: { id: string; type: string; publicKeyMultibase: string }[]
      service: { id: string; type: string; serviceEndpoint: string }[]
    }
    expect(doc.id).toBe(u.did)
    expect(doc.alsoKnownAs).toContain(`at://${u.handle}`)
    // This PLC writes the legacy form: id "#atproto", type EcdsaSecp256k1VerificationKey2019 (newer ones write
    // `${did}#atproto` / Multikey); @atproto/identity reads both.
    const vm = doc.verificationMethod.find((m) => m.id === '#atproto' || m.id === `${u.did}#atproto`)
    expect(['Multikey', 'EcdsaSecp256k1VerificationKey2019']).toContain(vm?.type ?? '')
    expect(vm?.publicKeyMultibase).toMatch(/^z/)
    const svc = doc.service.find((s) => s.id === '#atproto_pds')
    expect(svc).toEqual({ id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: pds.pdsUrl })
  })
})
