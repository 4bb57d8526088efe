import { z } from 'zod'
import { defineMethod } from '../../../method.ts'
import { assertOwnRepo } from '../../../repo-param.ts'

export default defineMethod({
  nsid: 'com.atproto.repo.describeRepo',
  type: 'query',
  params: z.object({ repo: z.string().min(1).max(2048) }),
  async handler({ ctx, params }) {
    assertOwnRepo(ctx, params.repo)
    return {
      handle: new URL(ctx.identity.publicUrl).host,
      did: ctx.identity.did,
      didDoc: ctx.identity.didDocument,
      collections: ctx.repo.collections(),
      handleIsCorrect: true,
    }
  },
})
