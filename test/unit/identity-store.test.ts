import { expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { Secp256k1Keypair } from '@atproto/crypto'
import { createIdentityResolver, sqliteDidStore } from '../../src/atproto/identity.ts'

test('DID documents persist in SQLite: a restarted resolver answers without asking the PLC', async () => {
  const kp = await Secp256k1Keypair.create()
  const did = 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa'
  let hits = 0
  const plc = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch(req) {
      hits++
      if (decodeURIComponent(new URL(req.url).pathname) !== `/${did}`) return new Response('not found', { status: 404 })
      return Response.json({
        '@context': ['https://www.w3.org/ns/did/v1'],
        id: did,
        alsoKnownAs: ['at://alice.test'],
        verificationMethod: [{ id: `${did}#atproto`, type: 'Multikey', controller: did, publicKeyMultibase: kp.did().slice(8) }],
        service: [{ id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: 'https://pds.example' }],
      })
    },
  })
  try {
    const db = new Database(':memory:')
    const plcUrl = `http://127.0.0.1:${plc.port}`
    const first = createIdentityResolver({ plcUrl, store: sqliteDidStore(db) })
    expect(await first.resolvePds(did)).toBe('https://pds.example')
    expect(hits).toBe(1)
    const second = createIdentityResolver({ plcUrl, store: sqliteDidStore(db) })
    expect(await second.resolveAtprotoKey(did)).toBe(kp.did())
    expect(hits).toBe(1)
    // An unknown DID is not stored.
    expect(await second.resolveDid('did:plc:bbbbbbbbbbbbbbbbbbbbbbbb')).toBeNull()
    expect(db.query('SELECT COUNT(*) AS n FROM did_doc').get()).toEqual({ n: 1 })
  } finally {
    plc.stop(true)
  }
})
