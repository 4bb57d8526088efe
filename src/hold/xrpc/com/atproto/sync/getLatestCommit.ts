import { z } from 'zod'
import { defineMethod } from '../../../method.ts'
import { assertOwnRepo } from '../../../repo-param.ts'

export default defineMethod({
  nsid: 'com.atproto.sync.getLatestCommit',
  type: 'query',
  params: z.object({ did: z.string().min(1).max(2048) }),
  async handler({ ctx, params }) {
    assertOwnRepo(ctx, params.did)
    return ctx.repo.latestCommit()
  },
})
