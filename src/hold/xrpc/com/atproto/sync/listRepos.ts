import { z } from 'zod'
import { defineMethod, zLimit } from '../../../method.ts'

export default defineMethod({
  nsid: 'com.atproto.sync.listRepos',
  type: 'query',
  params: z.object({ limit: zLimit(500, 1000), cursor: z.string().max(2048).optional() }),
  async handler({ ctx, params }) {
    const head = ctx.repo.latestCommit()
    // One repo: a cursor (from a previous page) means the listing is finished.
    if (!head || params.cursor) return { repos: [] }
    return { repos: [{ did: ctx.identity.did, head: head.cid, rev: head.rev, active: true }] }
  },
})
