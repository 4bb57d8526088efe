import type { BlobReference, ManifestRecord, ManifestReference } from '../../atproto/records.ts'
import { isSha256 } from '../../oci/digest.ts'
import { errors } from '../../oci/errors.ts'
import { assertManifestDigest, MAX_MANIFEST_BYTES, parseManifest, referencedBlobs, referencedManifests, type Descriptor } from '../../oci/manifest.ts'
import { parseReference } from '../../oci/reference.ts'
import { negotiateManifest } from '../../oci/accept.ts'
import { pushHold } from './holds.ts'
import { requireAccess, type RepoRequest } from './request.ts'

/** Resolves a tag or digest to the manifest record, or MANIFEST_UNKNOWN. */
async function findManifest(r: RepoRequest, ref: string): Promise<ManifestRecord> {
  const parsed = parseReference(ref)
  const { did, pdsUrl } = r.owner
  const digest = parsed.kind === 'digest' ? parsed.digest : await r.ctx.manifests.resolveTag(pdsUrl, did, r.name.repository, parsed.tag)
  const rec = digest && isSha256(digest) ? await r.ctx.manifests.getManifestRecord(pdsUrl, did, r.name.repository, digest, { scan: true }) : null
  if (!rec) throw errors.manifestUnknown(ref)
  return rec
}

const blobsOf = (rec: Pick<ManifestRecord, 'config' | 'layers'>) => [...(rec.config ? [rec.config.digest] : []), ...(rec.layers ?? []).map((l) => l.digest)]

/** GET/HEAD /v2/<name>/manifests/<reference>: the exact stored bytes with their digest and media type. */
export async function getManifest(r: RepoRequest, ref: string): Promise<Response> {
  requireAccess(r, r.name.name, ['pull'])
  const rec = await findManifest(r, ref)
  const refused = negotiateManifest(rec.mediaType, r.req.headers.get('accept'))
  if (refused) throw refused
  const bytes = await r.ctx.manifests.getManifestBytes(r.owner.pdsUrl, r.owner.did, rec)
  r.ctx.index.noteManifest(r.owner.did, r.name.name, r.name.repository, rec.holdDid, blobsOf(rec))
  const headers = {
    'content-type': rec.mediaType,
    'content-length': String(bytes.byteLength),
    'docker-content-digest': rec.digest,
    etag: `"${rec.digest}"`,
  }
  if (r.req.method === 'HEAD') return new Response(null, { status: 200, headers })
  if (rec.holdDid && r.claims?.sid) notifyPull(r, rec)
  return new Response(bytes, { status: 200, headers })
}

/**
 * Pull statistics on the hold; best effort, never delays or fails the pull. One pull per client session and
 * manifest per minute: clients fetch the same manifest several times in one pull (HEAD, GET, per platform).
 */
function notifyPull(r: RepoRequest, rec: ManifestRecord): void {
  const key = `${r.claims?.sid}\0${rec.digest}`
  if (r.ctx.recentPulls.get(key)) return
  r.ctx.recentPulls.set(key, true)
  void (async () => {
    const token = await r.ctx.serviceTokens.get(r.claims?.sid, rec.holdDid!, 'io.atcr.hold.notifyManifest')
    if (!token) return
    await r.ctx.holds.notifyManifest(rec.holdDid!, token, {
      repository: rec.repository,
      userDid: r.owner.did,
      manifestDigest: rec.digest,
      operation: 'pull',
      manifest: { mediaType: rec.mediaType },
    })
  })().catch((err) => r.ctx.log.warn('pull notification failed', { err: String(err) }))
}

async function readBody(req: Request, max: number): Promise<Uint8Array> {
  const declared = Number(req.headers.get('content-length') ?? NaN)
  if (declared > max) throw errors.manifestTooLarge(declared, max)
  const chunks: Uint8Array[] = []
  let total = 0
  if (req.body) {
    for await (const c of req.body) {
      total += c.byteLength
      if (total > max) throw errors.manifestTooLarge(undefined, max)
      chunks.push(c)
    }
  }
  return Buffer.concat(chunks, total)
}

const toBlobRef = (d: Descriptor): BlobReference => ({
  mediaType: d.mediaType,
  size: d.size,
  digest: d.digest,
  ...(d.urls ? { urls: d.urls } : {}),
  ...(d.annotations ? { annotations: d.annotations } : {}),
})

const toManifestRef = (d: Descriptor): ManifestReference =>
  ({
    ...toBlobRef(d),
    ...(d.platform ? { platform: d.platform } : {}),
  }) as ManifestReference

async function inParallel<T>(items: T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let i = 0
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (i < items.length) await fn(items[i++]!)
  }))
}

/**
 * PUT /v2/<name>/manifests/<reference>. Order matters for "a failed push never changes what a tag points to":
 * validate, check every blob in the hold and every child manifest in the repo, store bytes + manifest record,
 * let the hold check quota (notifyManifest), and only then move the tag.
 */
export async function putManifest(r: RepoRequest, ref: string): Promise<Response> {
  requireAccess(r, r.name.name, ['push'])
  const parsedRef = parseReference(ref)
  const raw = await readBody(r.req, MAX_MANIFEST_BYTES)
  const m = parseManifest(raw, r.req.headers.get('content-type'))
  if (parsedRef.kind === 'digest') {
    if (!isSha256(parsedRef.digest)) throw errors.unsupported({ reason: 'manifests are addressed by sha256' })
    assertManifestDigest(m, parsedRef.digest)
  }
  const { did, pdsUrl } = r.owner
  const agent = r.claims?.sid ? await r.ctx.sessions.agent(r.claims.sid) : null
  if (!agent || r.claims?.sub !== did) throw errors.denied({ reason: 'log in again: no session with your PDS' })
  const holdDid = await pushHold(r)

  const missing: string[] = []
  const blobToken = await r.ctx.serviceTokens.get(r.claims.sid, holdDid, 'com.atproto.sync.getBlob')
  await inParallel(referencedBlobs(m), 8, async (d) => {
    if (!(await r.ctx.holds.locateBlob(holdDid, d.digest, 'HEAD', blobToken))) missing.push(d.digest)
  })
  await inParallel(referencedManifests(m), 8, async (d) => {
    if (!isSha256(d.digest) || !(await r.ctx.manifests.getManifestRecord(pdsUrl, did, r.name.repository, d.digest))) missing.push(d.digest)
  })
  if (missing.length) throw missing.map((d) => errors.manifestBlobUnknown(d))

  const existed = !!(await r.ctx.manifests.getManifestRecord(pdsUrl, did, r.name.repository, m.digest))
  const record: Omit<ManifestRecord, 'manifestBlob'> = {
    repository: r.name.repository,
    digest: m.digest,
    mediaType: m.mediaType,
    schemaVersion: 2,
    createdAt: new Date().toISOString(),
    holdDid,
    ...(m.config ? { config: toBlobRef(m.config) } : {}),
    ...(m.kind === 'image' ? { layers: m.layers.map(toBlobRef) } : {}),
    ...(m.kind === 'index' ? { manifests: m.manifests.map(toManifestRef) } : {}),
    ...(m.subject ? { subject: toBlobRef(m.subject) } : {}),
    ...(m.annotations ? { annotations: m.annotations } : {}),
  }
  const uri = await r.ctx.manifests.putManifest(agent, did, record, m.raw)

  const notifyToken = await r.ctx.serviceTokens.get(r.claims.sid, holdDid, 'io.atcr.hold.notifyManifest')
  if (notifyToken) {
    try {
      await r.ctx.holds.notifyManifest(holdDid, notifyToken, {
        repository: r.name.repository,
        userDid: did,
        manifestDigest: m.digest,
        ...(parsedRef.kind === 'tag' ? { tag: parsedRef.tag } : {}),
        operation: 'push',
        manifest: {
          mediaType: m.mediaType,
          ...(m.config ? { config: toBlobRef(m.config) } : {}),
          ...(m.kind === 'image' ? { layers: m.layers.map(toBlobRef) } : {}),
          ...(m.kind === 'index' ? { manifests: m.manifests.map(toManifestRef) } : {}),
        },
      })
    } catch (err) {
      // Refused (quota): take back a record this push created, so nothing points at the refused manifest.
      if (!existed) await r.ctx.manifests.deleteManifest(agent, did, r.name.repository, m.digest).catch(() => {})
      throw err
    }
  }
  if (parsedRef.kind === 'tag') await r.ctx.manifests.putTag(agent, did, r.name.repository, parsedRef.tag, uri, m.digest)
  r.ctx.index.noteManifest(did, r.name.name, r.name.repository, holdDid, referencedBlobs(m).map((d) => d.digest))

  const headers: Record<string, string> = {
    location: `/v2/${r.name.name}/manifests/${m.digest}`,
    'docker-content-digest': m.digest,
    'content-length': '0',
  }
  if (m.subject) headers['oci-subject'] = m.subject.digest
  return new Response(null, { status: 201, headers })
}

/** DELETE by digest removes the manifest record and the tags pointing at it; DELETE by tag removes the tag. */
export async function deleteManifest(r: RepoRequest, ref: string): Promise<Response> {
  requireAccess(r, r.name.name, ['delete'])
  const { did, pdsUrl } = r.owner
  const agent = r.claims?.sid ? await r.ctx.sessions.agent(r.claims.sid) : null
  if (!agent || r.claims?.sub !== did) throw errors.denied({ reason: 'only the owner can delete' })
  const parsed = parseReference(ref)
  if (parsed.kind === 'tag') {
    if (!(await r.ctx.manifests.resolveTag(pdsUrl, did, r.name.repository, parsed.tag))) throw errors.manifestUnknown(ref)
    await r.ctx.manifests.deleteTag(agent, did, r.name.repository, parsed.tag)
    return new Response(null, { status: 202 })
  }
  const rec = await findManifest(r, ref)
  for await (const t of r.ctx.manifests.listRecords<{ repository: string; tag: string; manifestDigest?: string; manifest?: string }>(pdsUrl, did, 'io.atcr.tag')) {
    const v = t.value
    if (v.repository === r.name.repository && (v.manifestDigest === rec.digest || v.manifest?.endsWith(`:${rec.digest.slice(7)}`))) {
      await r.ctx.manifests.deleteTag(agent, did, r.name.repository, v.tag)
    }
  }
  await r.ctx.manifests.deleteManifest(agent, did, r.name.repository, rec.digest)
  return new Response(null, { status: 202 })
}
