import { z } from 'zod'
import { invalidRequest, XrpcError } from '../../../../../atproto/xrpc-error.ts'
import { blobKey } from '../../../../storage/driver.ts'
import { StorageError } from '../../../../storage/errors.ts'
import type { HoldContext } from '../../../../context.ts'
import { defineMethod, zDigest, zPartNumber, zUploadId } from '../../../method.ts'
import { assertCanWrite } from './access.ts'
import { ownSession } from './session.ts'

/** sha256 of a stored object, streamed: the caller's digest is never trusted. */
export async function hashObject(ctx: HoldContext, key: string): Promise<string> {
  const stream = await ctx.storage.read(key)
  if (!stream) throw new XrpcError(500, 'CompletionFailed', 'assembled object is missing')
  const h = new Bun.CryptoHasher('sha256')
  for await (const chunk of stream) h.update(chunk)
  return `sha256:${h.digest('hex')}`
}

/**
 * The digest given here is the one verified; the digest given to initiateUpload is advisory, because a chunked
 * registry upload (POST, PATCH…, PUT ?digest=) only learns its digest when the last byte has passed.
 */
export default defineMethod({
  nsid: 'io.atcr.hold.completeUpload',
  type: 'procedure',
  input: z.object({
    uploadId: zUploadId,
    digest: zDigest,
    parts: z.array(z.object({ partNumber: zPartNumber, etag: z.string().min(1).max(256) })).max(10000),
  }),
  async handler({ ctx, input, requireCaller }) {
    const did = await requireCaller()
    assertCanWrite(ctx, did)
    const s = ownSession(ctx, input.uploadId, did)
    if (input.parts.length === 0) throw invalidRequest('no parts listed', 'MissingParts')
    const parts = [...input.parts].sort((a, b) => a.partNumber - b.partNumber)
    if (parts.some((p, i) => i > 0 && p.partNumber === parts[i - 1]!.partNumber)) throw invalidRequest('duplicate part numbers', 'MissingParts')

    // The session is consumed whatever happens next: a failed completion must be restarted from scratch.
    ctx.uploads.delete(s.id)
    let assembled: { sha256?: string } | void
    try {
      assembled = await ctx.storage.completeMultipart(s.key, s.storageUploadId, parts)
    } catch (err) {
      await ctx.storage.abortMultipart(s.key, s.storageUploadId).catch(() => {})
      if (err instanceof StorageError) throw invalidRequest(`parts could not be assembled: ${err.message}`, 'MissingParts')
      ctx.log.error('completeMultipart failed', err, { uploadId: s.id })
      throw new XrpcError(500, 'CompletionFailed', 'storage could not assemble the upload')
    }
    const actual = assembled?.sha256 ?? (await hashObject(ctx, s.key))
    if (actual !== input.digest) {
      await ctx.storage.delete(s.key)
      throw invalidRequest(`content digest ${actual} does not match ${input.digest}`, 'InvalidDigest')
    }
    const target = blobKey(actual)
    if (await ctx.storage.stat(target)) await ctx.storage.delete(s.key)
    else await ctx.storage.move(s.key, target)
    return { status: 'completed', digest: actual }
  },
})
