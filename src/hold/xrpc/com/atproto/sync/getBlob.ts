import { z } from 'zod'
import { parseCidSafe } from '@atproto/lex-data'
import { forbidden, invalidRequest, XrpcError } from '../../../../../atproto/xrpc-error.ts'
import { blobKey } from '../../../../storage/driver.ts'
import { defineMethod, zDid } from '../../../method.ts'

const SHA256_CODE = 0x12

/**
 * OCI blobs are addressed either by digest (`sha256:<hex>`) or by a CID whose multihash is that sha256
 * (DESIGN.md §2), so both spellings reach the same content-addressed key.
 */
export function digestFromBlobParam(cid: string): string | null {
  if (/^sha256:[a-f0-9]{64}$/.test(cid)) return cid
  const parsed = parseCidSafe(cid)
  if (!parsed || parsed.multihash.code !== SHA256_CODE) return null
  return `sha256:${Buffer.from(parsed.multihash.digest).toString('hex')}`
}

export default defineMethod({
  nsid: 'com.atproto.sync.getBlob',
  type: 'query',
  params: z.object({ did: zDid, cid: z.string().min(1).max(256) }),
  async handler({ ctx, params, req, caller }) {
    const digest = digestFromBlobParam(params.cid)
    if (!digest) throw invalidRequest('cid must be a sha256 digest or a CID with a sha256 multihash', 'InvalidCid')
    const who = await caller()
    if (!ctx.crew.canRead(who)) {
      if (!who) throw new XrpcError(401, 'AuthRequired', 'this hold is private: a service token with blob:read is required')
      throw forbidden('blob:read permission required on this hold')
    }
    const key = blobKey(digest)
    const stat = await ctx.storage.stat(key)
    if (!stat) throw new XrpcError(404, 'BlobNotFound', `blob not found: ${digest}`)
    const method = req.method === 'HEAD' ? 'HEAD' : 'GET'
    const url = await ctx.storage.getUrl(key, ctx.config.storage.presign_ttl, method)
    return new Response(null, {
      status: 307,
      headers: { location: url, 'docker-content-digest': digest, 'x-blob-size': String(stat.size), 'cache-control': 'no-store' },
    })
  },
})
