import { isSha256, parseDigest } from '../../oci/digest.ts'
import { errors } from '../../oci/errors.ts'
import { parseRepositoryName } from '../../oci/reference.ts'
import { allows } from '../auth/registry-token.ts'
import { UploadError, type UploadSession } from '../store/uploads.ts'
import { pushHold } from './holds.ts'
import { requireAccess, type RepoRequest } from './request.ts'

function uploadHeaders(r: RepoRequest, s: UploadSession): Record<string, string> {
  return {
    location: `/v2/${r.name.name}/blobs/uploads/${s.uuid}`,
    range: `0-${Math.max(0, s.offset - 1)}`,
    'docker-upload-uuid': s.uuid,
    'content-length': '0',
  }
}

function created(r: RepoRequest, digest: string): Response {
  return new Response(null, {
    status: 201,
    headers: { location: `/v2/${r.name.name}/blobs/${digest}`, 'docker-content-digest': digest, 'content-length': '0' },
  })
}

/** Upload errors through the one OCI error table. */
function asRegistryError(err: unknown, s?: UploadSession): unknown {
  if (!(err instanceof UploadError)) return err
  switch (err.code) {
    case 'RANGE_INVALID':
      return errors.rangeInvalid(s?.offset, err.message)
    case 'DIGEST_INVALID':
      return errors.digestInvalid(undefined, err.message)
    case 'SIZE_INVALID':
      return errors.sizeInvalid(err.message)
    case 'TOOMANYREQUESTS':
      return errors.tooManyRequests(60)
    case 'DENIED':
      return errors.denied(err.message)
    case 'BLOB_UPLOAD_UNKNOWN':
      return errors.blobUploadUnknown(s?.uuid)
    default:
      return errors.blobUploadInvalid(err.message)
  }
}

function session(r: RepoRequest, uuid: string): UploadSession {
  try {
    return r.ctx.uploads.get(uuid, r.claims?.sub ?? '', r.name.repository)
  } catch (err) {
    throw asRegistryError(err)
  }
}

function requireOwner(r: RepoRequest): { sid: string } {
  if (!r.claims?.sid || r.claims.sub !== r.owner.did) throw errors.denied({ reason: 'push only to your own namespace, with a session from the token endpoint' })
  return { sid: r.claims.sid }
}

/** The expected digest from `?digest=`: well-formed and sha256 (the only algorithm the holds store). */
function digestParam(r: RepoRequest): string {
  const d = r.url.searchParams.get('digest')
  if (!d) throw errors.digestInvalid(undefined, 'digest parameter required')
  const { digest } = parseDigest(d)
  if (!isSha256(digest)) throw errors.unsupported({ reason: 'only sha256 blobs are stored' })
  return digest
}

/**
 * POST /v2/<name>/blobs/uploads/: monolithic (`?digest=` with the body), cross-repository mount (`?mount=`,
 * optionally `from=`), or the start of a chunked/streamed session (202 with Location).
 */
export async function startUpload(r: RepoRequest): Promise<Response> {
  requireAccess(r, r.name.name, ['push'])
  const { sid } = requireOwner(r)
  const hold = await pushHold(r)
  const mount = r.url.searchParams.get('mount')
  if (mount) {
    const { digest } = parseDigest(mount)
    const from = r.url.searchParams.get('from')
    // A mount is only honoured from a repository the token may pull; otherwise it quietly becomes an upload.
    const fromOk = from === null || (isValidName(from) && r.claims !== null && allows(r.claims, 'repository', from, 'pull'))
    if (fromOk) {
      const token = await r.ctx.serviceTokens.get(sid, hold, 'com.atproto.sync.getBlob')
      if (await r.ctx.holds.locateBlob(hold, digest, 'HEAD', token)) {
        r.ctx.index.noteManifest(r.owner.did, r.name.name, r.name.repository, hold, [digest])
        return created(r, digest)
      }
    }
  }
  const digest = r.url.searchParams.has('digest') ? digestParam(r) : undefined
  let s: UploadSession
  try {
    s = r.ctx.uploads.create(r.owner.did, r.name.repository, hold, sid)
  } catch (err) {
    throw asRegistryError(err)
  }
  if (digest) {
    try {
      await r.ctx.uploads.append(s, r.req.body, undefined, digest)
    } catch (err) {
      throw asRegistryError(err, s)
    }
    r.ctx.index.noteManifest(r.owner.did, r.name.name, r.name.repository, hold, [digest])
    return created(r, digest)
  }
  return new Response(null, { status: 202, headers: uploadHeaders(r, s) })
}

function isValidName(name: string): boolean {
  try {
    parseRepositoryName(name)
    return true
  } catch {
    return false
  }
}

/** `Content-Range: <start>-<end>` (docker omits it for streamed uploads). */
function rangeStart(r: RepoRequest, s: UploadSession): number | undefined {
  const h = r.req.headers.get('content-range')
  if (!h) return undefined
  const m = /^(?:bytes )?(\d+)-(\d+)$/.exec(h.trim())
  if (!m) throw errors.rangeInvalid(s.offset, 'malformed Content-Range')
  const start = Number(m[1])
  const end = Number(m[2])
  const len = r.req.headers.get('content-length')
  if (end < start || (len !== null && Number(len) !== end - start + 1)) throw errors.rangeInvalid(s.offset, 'Content-Range does not match the body length')
  return start
}

/** PATCH /v2/<name>/blobs/uploads/<uuid>: a chunk (with Content-Range) or the rest of a stream. */
export async function patchUpload(r: RepoRequest, uuid: string): Promise<Response> {
  requireAccess(r, r.name.name, ['push'])
  requireOwner(r)
  const s = session(r, uuid)
  const start = rangeStart(r, s)
  try {
    await r.ctx.uploads.append(s, r.req.body, start)
  } catch (err) {
    throw asRegistryError(err, s)
  }
  return new Response(null, { status: 202, headers: uploadHeaders(r, s) })
}

/** PUT /v2/<name>/blobs/uploads/<uuid>?digest=: optional last chunk, digest check, completion in the hold. */
export async function finishUpload(r: RepoRequest, uuid: string): Promise<Response> {
  requireAccess(r, r.name.name, ['push'])
  requireOwner(r)
  const s = session(r, uuid)
  const digest = digestParam(r)
  const start = r.req.headers.get('content-range') ? rangeStart(r, s) : undefined
  try {
    await r.ctx.uploads.append(s, r.req.body, start, digest)
  } catch (err) {
    throw asRegistryError(err, s)
  }
  r.ctx.index.noteManifest(r.owner.did, r.name.name, r.name.repository, s.holdDid, [digest])
  return created(r, digest)
}

/** GET /v2/<name>/blobs/uploads/<uuid>: progress, so a client can resume. */
export async function uploadStatus(r: RepoRequest, uuid: string): Promise<Response> {
  requireAccess(r, r.name.name, ['push'])
  const s = session(r, uuid)
  return new Response(null, { status: 204, headers: uploadHeaders(r, s) })
}

/** DELETE /v2/<name>/blobs/uploads/<uuid>: cancel; the hold's multipart upload is aborted. */
export async function cancelUpload(r: RepoRequest, uuid: string): Promise<Response> {
  requireAccess(r, r.name.name, ['push'])
  const s = session(r, uuid)
  await r.ctx.uploads.discard(s)
  return new Response(null, { status: 204 })
}

