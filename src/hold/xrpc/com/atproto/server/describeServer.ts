import { defineMethod } from '../../../method.ts'

export default defineMethod({
  nsid: 'com.atproto.server.describeServer',
  type: 'query',
  async handler({ ctx }) {
    return {
      did: ctx.identity.did,
      availableUserDomains: [],
      inviteCodeRequired: true,
      phoneVerificationRequired: false,
      links: {},
    }
  },
})
