import { parseDigest } from '../../oci/digest.ts'
import { errors } from '../../oci/errors.ts'
import { blobHold } from './holds.ts'
import { requireAccess, type RepoRequest } from './request.ts'

/**
 * GET/HEAD /v2/<name>/blobs/<digest>. GET answers 307 to the hold's presigned URL (bytes never pass through the
 * AppView); HEAD answers size and digest itself, so clients checking for existing layers make one round trip.
 */
export async function getBlob(r: RepoRequest, digestParam: string): Promise<Response> {
  requireAccess(r, r.name.name, ['pull'])
  const { digest } = parseDigest(digestParam)
  const hold = await blobHold(r, digest)
  const method = r.req.method === 'HEAD' ? 'HEAD' : 'GET'
  const token = await r.ctx.serviceTokens.get(r.claims?.sid, hold, 'com.atproto.sync.getBlob')
  const loc = await r.ctx.holds.locateBlob(hold, digest, method, token)
  if (!loc) throw errors.blobUnknown(digest)
  if (method === 'HEAD') {
    return new Response(null, {
      status: 200,
      headers: { 'content-length': String(loc.size), 'docker-content-digest': digest, 'content-type': 'application/octet-stream' },
    })
  }
  return new Response(null, { status: 307, headers: { location: loc.url, 'docker-content-digest': digest, 'cache-control': 'no-store' } })
}

/**
 * DELETE /v2/<name>/blobs/<digest>: unlinks the blob from this repository's view. The bytes are shared,
 * content-addressed, in the hold, and reclaimed by the hold's GC once no layer record references them.
 */
export async function deleteBlob(r: RepoRequest, digestParam: string): Promise<Response> {
  requireAccess(r, r.name.name, ['delete'])
  const { digest } = parseDigest(digestParam)
  if (r.claims?.sub !== r.owner.did) throw errors.denied({ reason: 'only the owner can delete' })
  const hold = await blobHold(r, digest)
  const token = await r.ctx.serviceTokens.get(r.claims?.sid, hold, 'com.atproto.sync.getBlob')
  if (!(await r.ctx.holds.locateBlob(hold, digest, 'HEAD', token))) throw errors.blobUnknown(digest)
  r.ctx.index.forgetBlob(r.owner.did, r.name.repository, digest)
  return new Response(null, { status: 202 })
}
