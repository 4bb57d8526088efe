import { z } from 'zod'
import { invalidRequest } from '../../../../../atproto/xrpc-error.ts'
import { defineMethod, zNsid, zRkey } from '../../../method.ts'
import { assertOwnRepo } from '../../../repo-param.ts'

export default defineMethod({
  nsid: 'com.atproto.repo.getRecord',
  type: 'query',
  params: z.object({ repo: z.string().min(1).max(2048), collection: zNsid, rkey: zRkey, cid: z.string().max(128).optional() }),
  async handler({ ctx, params }) {
    assertOwnRepo(ctx, params.repo)
    const rec = await ctx.repo.getRecord(params.collection, params.rkey)
    if (!rec || (params.cid && params.cid !== rec.cid)) {
      throw invalidRequest(`Could not locate record: at://${ctx.identity.did}/${params.collection}/${params.rkey}`, 'RecordNotFound')
    }
    return rec
  },
})
