import { z } from 'zod'
import { XrpcError } from '../../../../../atproto/xrpc-error.ts'
import { uploadKey } from '../../../../storage/driver.ts'
import { UploadLimitError, UploadSessions } from '../../../../uploads.ts'
import { defineMethod, zDigest } from '../../../method.ts'
import { assertCanWrite } from './access.ts'

export default defineMethod({
  nsid: 'io.atcr.hold.initiateUpload',
  type: 'procedure',
  input: z.object({ digest: zDigest }),
  async handler({ ctx, input, requireCaller }) {
    const did = await requireCaller()
    assertCanWrite(ctx, did)
    const id = UploadSessions.newId()
    const key = uploadKey(id)
    const storageUploadId = await ctx.storage.createMultipart(key)
    try {
      ctx.uploads.create({ id, did, digest: input.digest, key, storageUploadId })
    } catch (err) {
      await ctx.storage.abortMultipart(key, storageUploadId)
      if (err instanceof UploadLimitError) throw new XrpcError(429, 'TooManyUploads', err.message)
      throw err
    }
    return { uploadId: id }
  },
})
