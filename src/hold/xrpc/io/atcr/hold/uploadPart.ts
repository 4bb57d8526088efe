import { z } from 'zod'
import { XrpcError } from '../../../../../atproto/xrpc-error.ts'
import { StorageError } from '../../../../storage/errors.ts'
import { defineMethod, zPartNumber, zUploadId } from '../../../method.ts'
import { assertCanWrite } from './access.ts'
import { ownSession } from './session.ts'

/**
 * Direct part upload: bytes pass through the hold (for clients that cannot reach presigned URLs).
 * The body is streamed to storage, never buffered whole, and cut off at the configured part limit.
 */
export default defineMethod({
  nsid: 'io.atcr.hold.uploadPart',
  type: 'procedure',
  input: 'raw',
  extraMethods: ['PUT'],
  params: z.object({ uploadId: zUploadId, partNumber: zPartNumber }),
  async handler({ ctx, params, req, requireCaller }) {
    const did = await requireCaller()
    assertCanWrite(ctx, did)
    const s = ownSession(ctx, params.uploadId, did)
    const max = ctx.config.storage.max_part_size
    const declared = req.headers.get('content-length')
    if (declared !== null && Number(declared) > max) throw new XrpcError(413, 'PartTooLarge', `part exceeds ${max} bytes`)
    if (!req.body) throw new XrpcError(400, 'InvalidRequest', 'empty part body')
    let seen = 0
    const limited = req.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, ctl) {
          seen += chunk.byteLength
          if (seen > max) ctl.error(new XrpcError(413, 'PartTooLarge', `part exceeds ${max} bytes`))
          else ctl.enqueue(chunk)
        },
      }),
    )
    try {
      const etag = await ctx.storage.putPart(s.key, s.storageUploadId, params.partNumber, limited)
      return { etag }
    } catch (err) {
      if (seen > max || (err instanceof StorageError && err.code === 'EntityTooLarge')) throw new XrpcError(413, 'PartTooLarge', `part exceeds ${max} bytes`)
      throw err
    }
  },
})
