import { z } from 'zod'
import { defineMethod, zBool, zLimit, zNsid } from '../../../method.ts'
import { assertOwnRepo } from '../../../repo-param.ts'

export default defineMethod({
  nsid: 'com.atproto.repo.listRecords',
  type: 'query',
  params: z.object({
    repo: z.string().min(1).max(2048),
    collection: zNsid,
    limit: zLimit(50, 100),
    cursor: z.string().max(512).optional(),
    reverse: zBool.optional(),
  }),
  async handler({ ctx, params }) {
    assertOwnRepo(ctx, params.repo)
    return ctx.repo.listRecords(params.collection, { limit: params.limit, cursor: params.cursor, reverse: params.reverse })
  },
})
