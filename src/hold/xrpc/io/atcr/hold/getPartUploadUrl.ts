import { z } from 'zod'
import { defineMethod, zPartNumber, zUploadId } from '../../../method.ts'
import { assertCanWrite } from './access.ts'
import { ownSession } from './session.ts'

export default defineMethod({
  nsid: 'io.atcr.hold.getPartUploadUrl',
  type: 'procedure',
  input: z.object({ uploadId: zUploadId, partNumber: zPartNumber }),
  async handler({ ctx, input, requireCaller }) {
    const did = await requireCaller()
    assertCanWrite(ctx, did)
    const s = ownSession(ctx, input.uploadId, did)
    const part = await ctx.storage.partUrl(s.key, s.storageUploadId, input.partNumber, ctx.config.storage.presign_ttl)
    return { url: part.url, method: part.method, ...(part.headers ? { headers: part.headers } : {}) }
  },
})
