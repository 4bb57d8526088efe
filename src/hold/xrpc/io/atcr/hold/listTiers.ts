import { defineMethod } from '../../../method.ts'

export default defineMethod({
  nsid: 'io.atcr.hold.listTiers',
  type: 'query',
  async handler({ ctx }) {
    return { tiers: ctx.quota.listTiers() }
  },
})
