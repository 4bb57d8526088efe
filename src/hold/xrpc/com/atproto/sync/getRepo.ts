import { z } from 'zod'
import { defineMethod } from '../../../method.ts'
import { assertOwnRepo } from '../../../repo-param.ts'

export default defineMethod({
  nsid: 'com.atproto.sync.getRepo',
  type: 'query',
  params: z.object({ did: z.string().min(1).max(2048), since: z.string().max(32).optional() }),
  async handler({ ctx, params }) {
    assertOwnRepo(ctx, params.did)
    // `since` is accepted but the full repo is always returned: a valid (if larger) answer per the spec.
    const car = await ctx.repo.exportCar()
    return new Response(car, { headers: { 'content-type': 'application/vnd.ipld.car' } })
  },
})
