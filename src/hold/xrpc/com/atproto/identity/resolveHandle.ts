import { z } from 'zod'
import { invalidRequest } from '../../../../../atproto/xrpc-error.ts'
import { defineMethod } from '../../../method.ts'

export default defineMethod({
  nsid: 'com.atproto.identity.resolveHandle',
  type: 'query',
  params: z.object({ handle: z.string().min(1).max(253).transform((h) => h.toLowerCase()) }),
  async handler({ ctx, params }) {
    if (params.handle === new URL(ctx.identity.publicUrl).host.toLowerCase()) return { did: ctx.identity.did }
    const did = await ctx.resolver.resolveHandle(params.handle)
    if (!did) throw invalidRequest('Unable to resolve handle', 'HandleNotFound')
    return { did }
  },
})
