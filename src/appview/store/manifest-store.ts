import type { AtpAgent } from '@atproto/api'
import type { ManifestRecord, SailorProfileRecord, TagRecord } from '../../atproto/records.ts'
import { manifestRkey, tagRkey } from '../../atproto/records.ts'
import { Lru } from '../../util/lru.ts'

export const MANIFEST = 'io.atcr.manifest'
export const TAG = 'io.atcr.tag'
export const PROFILE = 'io.atcr.sailor.profile'



export class PdsError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

export interface StoredManifest {
  record: ManifestRecord
  bytes: Uint8Array
}

type Fetch = (input: string | URL, init?: RequestInit) => Promise<Response>

/**
 * Manifests and tags in the users' own PDS repos. Reads are public XRPC calls on the user's PDS; writes go
 * through the user's session. Caches are bounded; tag lookups are short-lived and dropped on our own writes.
 */
export class ManifestStore {
  private readonly bytesCache = new Lru<string, Uint8Array>({ maxEntries: 10_000, ttlMs: 24 * 3600_000, maxWeight: 64 * 1024 * 1024, weigh: (b) => b.byteLength })
  private readonly recordCache = new Lru<string, ManifestRecord | null>({ maxEntries: 20_000, ttlMs: 10 * 60_000 })
  private readonly tagCache = new Lru<string, string | null>({ maxEntries: 20_000, ttlMs: 10_000 })

  constructor(private readonly fetch: Fetch) {}

  private async getRecord<T>(pdsUrl: string, did: string, collection: string, rkey: string): Promise<{ value: T; cid: string } | null> {
    const url = `${pdsUrl}/xrpc/com.atproto.repo.getRecord?repo=${encodeURIComponent(did)}&collection=${collection}&rkey=${encodeURIComponent(rkey)}`
    const res = await this.fetchPds(url)
    if (res.status === 400 || res.status === 404) {
      const body = (await res.json().catch(() => ({}))) as { error?: string }
      if (body.error === 'RecordNotFound' || res.status === 404) return null
      throw new PdsError(502, `PDS refused getRecord: ${body.error ?? res.status}`)
    }
    if (!res.ok) throw new PdsError(502, `PDS answered ${res.status} to getRecord`)
    return (await res.json()) as { value: T; cid: string }
  }

  private async fetchPds(url: string, init?: RequestInit): Promise<Response> {
    try {
      return await this.fetch(url, { ...init, signal: AbortSignal.timeout(30_000) })
    } catch (err) {
      throw new PdsError(502, `the user's PDS could not be reached: ${(err as Error).message}`)
    }
  }

  /** Every record of a collection, page by page (for tag lists, referrers, untagged lookups). */
  async *listRecords<T>(pdsUrl: string, did: string, collection: string): AsyncGenerator<{ uri: string; value: T }> {
    let cursor: string | undefined
    for (let page = 0; page < 1000; page++) {
      const url = new URL(`${pdsUrl}/xrpc/com.atproto.repo.listRecords`)
      url.searchParams.set('repo', did)
      url.searchParams.set('collection', collection)
      url.searchParams.set('limit', '100')
      if (cursor) url.searchParams.set('cursor', cursor)
      const res = await this.fetchPds(url.toString())
      if (!res.ok) throw new PdsError(502, `PDS answered ${res.status} to listRecords`)
      const body = (await res.json()) as { records: { uri: string; value: T }[]; cursor?: string }
      yield* body.records
      if (!body.cursor || body.records.length === 0) return
      cursor = body.cursor
    }
  }

  /** The digest a tag points to, or null. */
  async resolveTag(pdsUrl: string, did: string, repository: string, tag: string): Promise<string | null> {
    const key = `${did}\0${repository}\0${tag}`
    const hit = this.tagCache.get(key)
    if (hit !== undefined) return hit
    const isIt = (v: TagRecord | undefined) => v?.repository === repository && v?.tag === tag
    let value = (await this.getRecord<TagRecord>(pdsUrl, did, TAG, tagRkey(repository, tag)))?.value
    // Tags written by other clients (the original atcr) may use other record keys: look through the collection.
    if (!isIt(value)) value = await this.findRecord<TagRecord>(pdsUrl, did, TAG, isIt)
    let digest: string | null = null
    if (value && isIt(value)) {
      if (value.manifest) {
        const m = /^at:\/\/([^/]+)\/io\.atcr\.manifest\/([^/]+)$/.exec(value.manifest)
        if (m && m[1] === did) {
          const man = await this.getManifestRecordByRkey(pdsUrl, did, m[2]!)
          if (man && man.repository === repository) {
            digest = man.digest
            this.recordCache.set(`${did}\0${repository}\0${man.digest}`, man)
          }
        }
      }
      digest ??= value.manifestDigest ?? null
    }
    this.tagCache.set(key, digest)
    return digest
  }

  /** The first record of a collection matching `pred`, by listing it (the fallback for foreign record keys). */
  private async findRecord<T>(pdsUrl: string, did: string, collection: string, pred: (v: T) => boolean): Promise<T | undefined> {
    for await (const rec of this.listRecords<T>(pdsUrl, did, collection)) if (pred(rec.value)) return rec.value
    return undefined
  }

  private async getManifestRecordByRkey(pdsUrl: string, did: string, rkey: string): Promise<ManifestRecord | null> {
    const rec = await this.getRecord<ManifestRecord>(pdsUrl, did, MANIFEST, rkey)
    return rec?.value ?? null
  }

  /**
   * The manifest record for a digest in a repository, or null. `scan` also looks through the whole collection
   * when the derived key misses, for records written by other clients (the original keys them by TID); reads
   * use it, the push path (which only asks about records this AppView wrote) does not.
   */
  async getManifestRecord(pdsUrl: string, did: string, repository: string, digest: string, opts: { scan?: boolean } = {}): Promise<ManifestRecord | null> {
    const key = `${did}\0${repository}\0${digest}`
    let rec = this.recordCache.get(key)
    if (rec === undefined) {
      const isIt = (v: ManifestRecord | null | undefined) => v?.digest === digest && v?.repository === repository
      rec = await this.getManifestRecordByRkey(pdsUrl, did, manifestRkey(repository, digest))
      if (!isIt(rec) && opts.scan) rec = (await this.findRecord<ManifestRecord>(pdsUrl, did, MANIFEST, isIt)) ?? null
      if (!isIt(rec)) rec = null
      this.recordCache.set(key, rec, rec ? undefined : 5_000)
    }
    return rec
  }

  /** Exact manifest bytes from the PDS blob, verified against the digest before anyone sees them. */
  async getManifestBytes(pdsUrl: string, did: string, rec: ManifestRecord): Promise<Uint8Array> {
    const cached = this.bytesCache.get(rec.digest)
    if (cached) return cached
    const ref = rec.manifestBlob as { ref?: { $link?: string } | string } | undefined
    const cid = typeof ref?.ref === 'string' ? ref.ref : ref?.ref?.$link
    if (!cid) throw new PdsError(500, 'manifest record has no manifestBlob')
    const res = await this.fetchPds(`${pdsUrl}/xrpc/com.atproto.sync.getBlob?did=${encodeURIComponent(did)}&cid=${cid}`)
    if (!res.ok) throw new PdsError(502, `PDS answered ${res.status} for the manifest blob`)
    const bytes = new Uint8Array(await res.arrayBuffer())
    const actual = `sha256:${new Bun.CryptoHasher('sha256').update(bytes).digest('hex')}`
    if (actual !== rec.digest) throw new PdsError(502, `manifest blob does not match ${rec.digest}`)
    this.bytesCache.set(rec.digest, bytes)
    return bytes
  }

  async getProfile(pdsUrl: string, did: string): Promise<SailorProfileRecord | null> {
    return (await this.getRecord<SailorProfileRecord>(pdsUrl, did, PROFILE, 'self'))?.value ?? null
  }

  /** Uploads the raw manifest as a PDS blob, then writes the manifest record. Returns the record's URI. */
  async putManifest(agent: AtpAgent, did: string, record: Omit<ManifestRecord, 'manifestBlob'>, bytes: Uint8Array): Promise<string> {
    const blob = await agent.com.atproto.repo.uploadBlob(bytes, { encoding: record.mediaType })
    const rkey = manifestRkey(record.repository, record.digest)
    const res = await agent.com.atproto.repo.putRecord({
      repo: did,
      collection: MANIFEST,
      rkey,
      record: { $type: MANIFEST, ...record, manifestBlob: blob.data.blob } as never,
      validate: false,
    })
    this.recordCache.delete(`${did}\0${record.repository}\0${record.digest}`)
    this.bytesCache.set(record.digest, bytes)
    return res.data.uri
  }

  async putTag(agent: AtpAgent, did: string, repository: string, tag: string, manifestUri: string, digest: string): Promise<void> {
    const now = new Date().toISOString()
    await agent.com.atproto.repo.putRecord({
      repo: did,
      collection: TAG,
      rkey: tagRkey(repository, tag),
      record: { $type: TAG, repository, tag, manifest: manifestUri, manifestDigest: digest, createdAt: now, updatedAt: now },
      validate: false,
    })
    this.tagCache.delete(`${did}\0${repository}\0${tag}`)
  }

  async deleteTag(agent: AtpAgent, did: string, repository: string, tag: string): Promise<void> {
    await agent.com.atproto.repo.deleteRecord({ repo: did, collection: TAG, rkey: tagRkey(repository, tag) })
    this.tagCache.delete(`${did}\0${repository}\0${tag}`)
  }

  async deleteManifest(agent: AtpAgent, did: string, repository: string, digest: string): Promise<void> {
    await agent.com.atproto.repo.deleteRecord({ repo: did, collection: MANIFEST, rkey: manifestRkey(repository, digest) })
    this.recordCache.delete(`${did}\0${repository}\0${digest}`)
    this.tagCache.deleteWhere((k) => k.startsWith(`${did}\0`))
  }

  async putProfile(agent: AtpAgent, did: string, profile: SailorProfileRecord): Promise<void> {
    await agent.com.atproto.repo.putRecord({ repo: did, collection: PROFILE, rkey: 'self', record: { $type: PROFILE, ...profile } as never, validate: false })
  }
}
