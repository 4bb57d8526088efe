import { z } from 'zod'
import { defineMethod } from '../../../method.ts'
import { assertOwnRepo } from '../../../repo-param.ts'

export default defineMethod({
  nsid: 'com.atproto.sync.getRepoStatus',
  type: 'query',
  params: z.object({ did: z.string().min(1).max(2048) }),
  async handler({ ctx, params }) {
    assertOwnRepo(ctx, params.did)
    return { did: ctx.identity.did, active: true, rev: ctx.repo.latestCommit()?.rev }
  },
})
