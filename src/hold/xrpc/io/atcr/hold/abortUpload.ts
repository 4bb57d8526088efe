import { z } from 'zod'
import { XrpcError } from '../../../../../atproto/xrpc-error.ts'
import { defineMethod, zUploadId } from '../../../method.ts'
import { assertCanWrite } from './access.ts'
import { ownSession } from './session.ts'

export default defineMethod({
  nsid: 'io.atcr.hold.abortUpload',
  type: 'procedure',
  input: z.object({ uploadId: zUploadId }),
  async handler({ ctx, input, requireCaller }) {
    const did = await requireCaller()
    assertCanWrite(ctx, did)
    const s = ownSession(ctx, input.uploadId, did)
    try {
      await ctx.storage.abortMultipart(s.key, s.storageUploadId)
    } catch (err) {
      ctx.log.error('abortMultipart failed', err, { uploadId: s.id })
      throw new XrpcError(500, 'AbortFailed', 'storage could not abort the upload')
    }
    ctx.uploads.delete(s.id)
    return { status: 'aborted' }
  },
})
