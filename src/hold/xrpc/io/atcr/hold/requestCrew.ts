import { z } from 'zod'
import { XrpcError } from '../../../../../atproto/xrpc-error.ts'
import { BLOB_READ, BLOB_WRITE, CREW, crewRkey } from '../../../../crew.ts'
import { defineMethod } from '../../../method.ts'

/** Self-service crew membership: open only when the captain enabled allowAllCrew, and only for blob permissions. */
export default defineMethod({
  nsid: 'io.atcr.hold.requestCrew',
  type: 'procedure',
  input: z.object({
    role: z.string().max(32).optional(),
    permissions: z.array(z.enum([BLOB_READ, BLOB_WRITE])).max(2).optional(),
  }),
  async handler({ ctx, input, requireCaller }) {
    const did = await requireCaller()
    const existing = ctx.crew.member(did)
    if (ctx.crew.isCaptain(did) || existing) {
      return { status: 'already_member', message: ctx.crew.isCaptain(did) ? 'you are the captain' : 'already crew', ...(existing ? { uri: ctx.repo.uri(CREW, existing.rkey) } : {}) }
    }
    if (!ctx.crew.getCaptain().allowAllCrew) throw new XrpcError(403, 'RegistrationDisabled', 'this hold does not accept crew requests; ask its captain')
    const role = input.role && ['member', 'write', 'read'].includes(input.role) ? input.role : 'member'
    const permissions = input.permissions?.length ? [...new Set(input.permissions)] : [BLOB_READ, BLOB_WRITE]
    const rkey = crewRkey(did)
    const res = await ctx.writeRecords([
      {
        action: 'create',
        collection: CREW,
        rkey,
        record: {
          $type: CREW,
          member: did,
          role,
          permissions,
          addedAt: new Date().toISOString(),
          ...(ctx.config.quota.default_tier ? { tier: ctx.config.quota.default_tier } : {}),
        },
      },
    ])
    return { status: 'created', uri: res.results[0]!.uri, cid: res.results[0]!.cid }
  },
})
