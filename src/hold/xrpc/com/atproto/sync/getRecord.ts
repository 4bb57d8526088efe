import { z } from 'zod'
import { invalidRequest } from '../../../../../atproto/xrpc-error.ts'
import { defineMethod, zNsid, zRkey } from '../../../method.ts'
import { assertOwnRepo } from '../../../repo-param.ts'

export default defineMethod({
  nsid: 'com.atproto.sync.getRecord',
  type: 'query',
  params: z.object({ did: z.string().min(1).max(2048), collection: zNsid, rkey: zRkey }),
  async handler({ ctx, params }) {
    assertOwnRepo(ctx, params.did)
    if (!(await ctx.repo.getRecord(params.collection, params.rkey))) {
      throw invalidRequest(`Could not find record: ${params.collection}/${params.rkey}`, 'RecordNotFound')
    }
    const car = await ctx.repo.recordProofCar(params.collection, params.rkey)
    return new Response(car, { headers: { 'content-type': 'application/vnd.ipld.car' } })
  },
})
