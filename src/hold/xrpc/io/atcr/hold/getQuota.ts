import { z } from 'zod'
import { forbidden } from '../../../../../atproto/xrpc-error.ts'
import { defineMethod, zDid } from '../../../method.ts'

export default defineMethod({
  nsid: 'io.atcr.hold.getQuota',
  type: 'query',
  params: z.object({ userDid: zDid }),
  async handler({ ctx, params, requireCaller }) {
    // Usage is personal: the user themself, or whoever manages the crew.
    const caller = await requireCaller()
    if (caller !== params.userDid && !ctx.crew.canAdminCrew(caller)) throw forbidden('you may only read your own quota')
    const usage = ctx.quota.usage(params.userDid)
    const captain = ctx.crew.isCaptain(params.userDid)
    const tier = captain ? undefined : ctx.quota.tier(ctx.crew.member(params.userDid)?.tier)
    return {
      userDid: params.userDid,
      uniqueBlobs: usage.uniqueBlobs,
      totalSize: usage.totalSize,
      ...(tier ? { tier: tier.name, limit: tier.quotaBytes } : {}),
    }
  },
})
