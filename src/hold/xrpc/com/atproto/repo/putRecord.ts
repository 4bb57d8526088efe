import { z } from 'zod'
import { invalidRequest } from '../../../../../atproto/xrpc-error.ts'
import { RecordValidationError } from '../../../../../atproto/lexicons.ts'
import { crewRkey } from '../../../../crew.ts'
import { defineMethod, zNsid, zRkey } from '../../../method.ts'
import { assertOwnRepo } from '../../../repo-param.ts'
import { assertCrewWrite } from './crew-write.ts'

export default defineMethod({
  nsid: 'com.atproto.repo.putRecord',
  type: 'procedure',
  input: z.object({
    repo: z.string().min(1).max(2048),
    collection: zNsid,
    rkey: zRkey,
    validate: z.boolean().optional(),
    record: z.record(z.string(), z.unknown()),
    swapRecord: z.string().max(128).nullable().optional(),
    swapCommit: z.string().max(128).optional(),
  }),
  async handler({ ctx, input, requireCaller }) {
    const caller = await requireCaller()
    assertOwnRepo(ctx, input.repo, 'InvalidRequest')
    const member = typeof input.record.member === 'string' ? input.record.member : undefined
    if (!member) throw invalidRequest('crew record needs a member DID', 'InvalidRecord')
    if (input.rkey !== crewRkey(member)) throw invalidRequest(`crew record key must be ${crewRkey(member)}`, 'InvalidRecord')
    const existing = ctx.crew.member(member)
    assertCrewWrite(ctx, caller, input.collection, existing, input.record)
    const current = await ctx.repo.getRecord(input.collection, input.rkey)
    if (input.swapRecord !== undefined && (current?.cid ?? null) !== input.swapRecord) {
      throw invalidRequest('record was changed by someone else', 'InvalidSwap')
    }
    if (input.swapCommit !== undefined && ctx.repo.latestCommit()?.cid !== input.swapCommit) {
      throw invalidRequest('repo moved on since swapCommit', 'InvalidSwap')
    }
    try {
      const res = await ctx.writeRecords([
        { action: current ? 'update' : 'create', collection: input.collection, rkey: input.rkey, record: input.record },
      ])
      return { uri: res.results[0]!.uri, cid: res.results[0]!.cid, commit: { cid: res.cid, rev: res.rev }, validationStatus: 'valid' }
    } catch (err) {
      if (err instanceof RecordValidationError) throw invalidRequest(err.message, 'InvalidRecord')
      throw err
    }
  },
})
