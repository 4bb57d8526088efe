import { z } from 'zod'
import { invalidRequest } from '../../../../../atproto/xrpc-error.ts'
import { defineMethod, zNsid, zRkey } from '../../../method.ts'
import { assertOwnRepo } from '../../../repo-param.ts'
import { assertCrewWrite } from './crew-write.ts'

export default defineMethod({
  nsid: 'com.atproto.repo.deleteRecord',
  type: 'procedure',
  input: z.object({
    repo: z.string().min(1).max(2048),
    collection: zNsid,
    rkey: zRkey,
    swapRecord: z.string().max(128).optional(),
    swapCommit: z.string().max(128).optional(),
  }),
  async handler({ ctx, input, requireCaller }) {
    const caller = await requireCaller()
    assertOwnRepo(ctx, input.repo, 'InvalidRequest')
    const current = await ctx.repo.getRecord(input.collection, input.rkey)
    const existing = current ? ctx.crew.member(String(current.value.member)) : undefined
    assertCrewWrite(ctx, caller, input.collection, existing)
    if (input.swapRecord !== undefined && current?.cid !== input.swapRecord) throw invalidRequest('record was changed by someone else', 'InvalidSwap')
    // Deleting a missing record is not an error (as on a PDS), and writes no commit.
    if (!current) return {}
    const res = await ctx.writeRecords([{ action: 'delete', collection: input.collection, rkey: input.rkey }])
    return { commit: { cid: res.cid, rev: res.rev } }
  },
})
