import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Secp256k1Keypair } from '@atproto/crypto'
import { encode as cborEncode } from '@atproto/lex-cbor'
import { base32 } from 'multiformats/bases/base32'

/**
 * The hold's ATProto identity: a secp256k1 signing key kept in the data directory, and a DID that is either
 * did:web (derived from the public URL) or did:plc (registered with a PLC directory, with a rotation key).
 */

export interface HoldIdentity {
  did: string
  keypair: Secp256k1Keypair
  publicUrl: string
  /** The DID document this hold serves at /.well-known/did.json (did:web) or registered at the PLC. */
  didDocument: Record<string, unknown>
}

/** did:web for a URL: host, port as %3A, path segments joined by colons. */
export function didWebFromUrl(publicUrl: string): string {
  const u = new URL(publicUrl)
  const host = u.port ? `${u.hostname}%3A${u.port}` : u.hostname
  const path = u.pathname.split('/').filter(Boolean).map(encodeURIComponent)
  return ['did:web', host, ...path].join(':')
}

/** Loads a key file, creating it (mode 0600) on first boot. */
export async function loadOrCreateKey(path: string): Promise<Secp256k1Keypair> {
  if (existsSync(path)) {
    const hex = readFileSync(path, 'utf8').trim()
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`${path}: not a hex secp256k1 private key`)
    return Secp256k1Keypair.import(hex, { exportable: true })
  }
  const kp = await Secp256k1Keypair.create({ exportable: true })
  writeFileSync(path, `${Buffer.from(await kp.export()).toString('hex')}\n`, { mode: 0o600, flag: 'wx' })
  chmodSync(path, 0o600)
  return kp
}

export function buildDidDocument(did: string, keypair: Secp256k1Keypair, publicUrl: string): Record<string, unknown> {
  const host = new URL(publicUrl).host
  return {
    '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1', 'https://w3id.org/security/suites/secp256k1-2019/v1'],
    id: did,
    alsoKnownAs: [`at://${host}`],
    verificationMethod: [
      {
        id: `${did}#atproto`,
        type: 'Multikey',
        controller: did,
        publicKeyMultibase: keypair.did().slice('did:key:'.length),
      },
    ],
    service: [
      { id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: publicUrl },
      { id: '#atcr_hold', type: 'AtcrHoldService', serviceEndpoint: publicUrl },
    ],
  }
}

export interface IdentityOptions {
  dataDir: string
  publicUrl: string
  didMethod: 'web' | 'plc'
  /** Adopt this DID instead of deriving or creating one. */
  did?: string
  plcUrl: string
  log?: (msg: string) => void
}

/**
 * Resolution order (as the original): configured DID -> `did.txt` in the data dir -> create.
 * For did:plc the PLC document is re-synced when the signing key or URL drifted.
 */
export async function loadIdentity(opts: IdentityOptions): Promise<HoldIdentity> {
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 })
  const keypair = await loadOrCreateKey(join(opts.dataDir, 'signing.key'))
  if (opts.didMethod === 'web') {
    const did = opts.did ?? didWebFromUrl(opts.publicUrl)
    return { did, keypair, publicUrl: opts.publicUrl, didDocument: buildDidDocument(did, keypair, opts.publicUrl) }
  }
  const rotation = await loadOrCreateKey(join(opts.dataDir, 'rotation.key'))
  const didFile = join(opts.dataDir, 'did.txt')
  let did = opts.did ?? (existsSync(didFile) ? readFileSync(didFile, 'utf8').trim() : undefined)
  const plc = new PlcClient(opts.plcUrl)
  if (!did) {
    did = await plc.createDid(rotation, keypair, opts.publicUrl)
    writeFileSync(didFile, `${did}\n`, { mode: 0o600 })
    opts.log?.(`registered ${did} with ${opts.plcUrl}`)
  } else {
    if (!existsSync(didFile)) writeFileSync(didFile, `${did}\n`, { mode: 0o600 })
    const synced = await plc.ensureCurrent(did, rotation, keypair, opts.publicUrl)
    if (synced) opts.log?.(`updated ${did} at ${opts.plcUrl} (signing key or URL changed)`)
  }
  const doc = await plc.getDocument(did)
  return { did, keypair, publicUrl: opts.publicUrl, didDocument: doc ?? buildDidDocument(did, keypair, opts.publicUrl) }
}

type PlcOp = {
  type: 'plc_operation'
  rotationKeys: string[]
  verificationMethods: Record<string, string>
  alsoKnownAs: string[]
  services: Record<string, { type: string; endpoint: string }>
  prev: string | null
  sig?: string
}

/** The few PLC directory operations a hold needs: genesis, update, read. */
export class PlcClient {
  constructor(private readonly url: string) {}

  private unsignedOp(rotation: Secp256k1Keypair, signing: Secp256k1Keypair, publicUrl: string, prev: string | null): PlcOp {
    return {
      type: 'plc_operation',
      rotationKeys: [rotation.did()],
      verificationMethods: { atproto: signing.did() },
      alsoKnownAs: [`at://${new URL(publicUrl).host}`],
      services: { atproto_pds: { type: 'AtprotoPersonalDataServer', endpoint: publicUrl } },
      prev,
    }
  }

  private async sign(op: PlcOp, rotation: Secp256k1Keypair): Promise<PlcOp> {
    const sig = await rotation.sign(cborEncode(op as never))
    return { ...op, sig: Buffer.from(sig).toString('base64url') }
  }

  async createDid(rotation: Secp256k1Keypair, signing: Secp256k1Keypair, publicUrl: string): Promise<string> {
    const signed = await this.sign(this.unsignedOp(rotation, signing, publicUrl, null), rotation)
    const hash = new Bun.CryptoHasher('sha256').update(cborEncode(signed as never)).digest()
    const did = `did:plc:${base32.baseEncode(hash).slice(0, 24)}`
    await this.submit(did, signed)
    return did
  }

  /** Submits an update when the registered key or endpoint differ from ours. Returns whether it did. */
  async ensureCurrent(did: string, rotation: Secp256k1Keypair, signing: Secp256k1Keypair, publicUrl: string): Promise<boolean> {
    const res = await fetch(`${this.url}/${did}/log/last`)
    if (!res.ok) throw new Error(`PLC ${this.url}: cannot read ${did} (${res.status})`)
    const last = (await res.json()) as PlcOp & { cid?: string }
    const want = this.unsignedOp(rotation, signing, publicUrl, null)
    if (
      last.verificationMethods?.atproto === want.verificationMethods.atproto &&
      last.services?.atproto_pds?.endpoint === publicUrl
    )
      return false
    if (!last.rotationKeys?.includes(rotation.did())) {
      throw new Error(`${did}: our rotation key is not among the PLC rotation keys; cannot update it`)
    }
    const prevCid = await this.lastCid(did)
    const op = { ...want, rotationKeys: last.rotationKeys, alsoKnownAs: want.alsoKnownAs, prev: prevCid }
    await this.submit(did, await this.sign(op, rotation))
    return true
  }

  private async lastCid(did: string): Promise<string> {
    const res = await fetch(`${this.url}/${did}/log/audit`)
    if (!res.ok) throw new Error(`PLC ${this.url}: cannot read audit log of ${did} (${res.status})`)
    const log = (await res.json()) as { cid: string }[]
    const last = log[log.length - 1]
    if (!last) throw new Error(`PLC ${this.url}: empty audit log for ${did}`)
    return last.cid
  }

  async getDocument(did: string): Promise<Record<string, unknown> | null> {
    const res = await fetch(`${this.url}/${did}`)
    return res.ok ? ((await res.json()) as Record<string, unknown>) : null
  }

  private async submit(did: string, op: PlcOp): Promise<void> {
    const res = await fetch(`${this.url}/${did}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(op),
    })
    if (!res.ok) throw new Error(`PLC ${this.url} refused the operation for ${did}: ${res.status} ${await res.text()}`)
  }
}
