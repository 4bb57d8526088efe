import { z } from 'zod'
import { TID } from '@atproto/common-web'
import { base32 } from 'multiformats/bases/base32'
import { forbidden, invalidRequest, XrpcError } from '../../../../../atproto/xrpc-error.ts'
import { manifestRkey } from '../../../../../atproto/records.ts'
import { formatSize } from '../../../../../config/units.ts'
import type { HoldContext } from '../../../../context.ts'
import { LAYER } from '../../../../quota.ts'
import type { WriteInput } from '../../../../repo/repo.ts'
import { defineMethod, zDid, zDigest } from '../../../method.ts'

export const STATS = 'io.atcr.hold.stats'

/** Deterministic stats rkey, as the original: base32(sha256(owner + "/" + repository)[:16]). */
export function statsRkey(ownerDid: string, repository: string): string {
  const h = new Bun.CryptoHasher('sha256').update(`${ownerDid}/${repository}`).digest()
  return base32.baseEncode(h.subarray(0, 16))
}

const descriptor = z.object({ mediaType: z.string().max(256), size: z.number().int().min(0), digest: zDigest }).passthrough()

const input = z.object({
  repository: z.string().min(1).max(256),
  userDid: zDid,
  manifestDigest: zDigest,
  manifest: z
    .object({
      mediaType: z.string().max(256),
      config: descriptor.optional(),
      layers: z.array(descriptor).max(1000).optional(),
      manifests: z.array(descriptor).max(1000).optional(),
    })
    .passthrough(),
  tag: z.string().max(128).optional(),
  operation: z.enum(['push', 'pull']).default('push'),
})

async function bumpStats(ctx: HoldContext, owner: string, repository: string, op: 'push' | 'pull'): Promise<WriteInput> {
  const rkey = statsRkey(owner, repository)
  const now = new Date().toISOString()
  const cur = (await ctx.repo.getRecord(STATS, rkey))?.value as Record<string, unknown> | undefined
  const record = {
    $type: STATS,
    ownerDid: owner,
    repository,
    pullCount: Number(cur?.pullCount ?? 0) + (op === 'pull' ? 1 : 0),
    pushCount: Number(cur?.pushCount ?? 0) + (op === 'push' ? 1 : 0),
    ...(cur?.lastPull ? { lastPull: cur.lastPull } : {}),
    ...(cur?.lastPush ? { lastPush: cur.lastPush } : {}),
    [op === 'push' ? 'lastPush' : 'lastPull']: now,
    updatedAt: now,
  }
  return { action: cur ? 'update' : 'create', collection: STATS, rkey, record }
}

export default defineMethod({
  nsid: 'io.atcr.hold.notifyManifest',
  type: 'procedure',
  input,
  async handler({ ctx, input, requireCaller }) {
    const caller = await requireCaller()
    if (input.operation === 'pull') {
      if (!ctx.crew.canRead(caller)) throw forbidden('blob:read permission required on this hold')
      await ctx.writeRecords([await bumpStats(ctx, input.userDid, input.repository, 'pull')])
      return { success: true, operation: 'pull', statsUpdated: true }
    }

    if (caller !== input.userDid) throw new XrpcError(403, 'UserMismatch', 'userDid must be the authenticated user')
    if (!ctx.crew.canWrite(caller)) throw forbidden('blob:write permission required on this hold')
    const manifestUri = `at://${input.userDid}/io.atcr.manifest/${manifestRkey(input.repository, input.manifestDigest)}`
    const blobs = [...(input.manifest.config ? [input.manifest.config] : []), ...(input.manifest.layers ?? [])]

    if (ctx.quota.enforced() && !ctx.crew.isCaptain(caller)) {
      const tier = ctx.quota.tier(ctx.crew.member(caller)?.tier)
      if (tier) {
        const after = ctx.quota.usageWith(caller, blobs)
        if (after.totalSize > tier.quotaBytes) {
          throw invalidRequest(
            `push needs ${formatSize(after.totalSize)} of storage; tier ${tier.name} allows ${formatSize(tier.quotaBytes)}`,
            'QuotaExceeded',
          )
        }
      }
    }

    const now = new Date().toISOString()
    const writes: WriteInput[] = []
    const seen = new Set<string>()
    for (const b of blobs) {
      if (seen.has(b.digest) || ctx.quota.hasLayer(caller, manifestUri, b.digest)) continue
      seen.add(b.digest)
      writes.push({
        action: 'create',
        collection: LAYER,
        rkey: TID.nextStr(),
        record: { $type: LAYER, digest: b.digest, size: b.size, mediaType: b.mediaType, manifest: manifestUri, userDid: caller, createdAt: now },
      })
    }
    writes.push(await bumpStats(ctx, input.userDid, input.repository, 'push'))

    let postUri: string | undefined
    if (ctx.crew.getCaptain().enableBlueskyPosts && input.tag) {
      const rkey = TID.nextStr()
      writes.push({
        action: 'create',
        collection: 'app.bsky.feed.post',
        rkey,
        record: {
          $type: 'app.bsky.feed.post',
          text: `New push: ${input.repository}:${input.tag} (${input.manifestDigest.slice(0, 19)}…) by ${input.userDid}`.slice(0, 300),
          createdAt: now,
        },
      })
      postUri = `at://${ctx.identity.did}/app.bsky.feed.post/${rkey}`
    }
    await ctx.writeRecords(writes)
    return {
      success: true,
      operation: 'push',
      statsUpdated: true,
      layersCreated: seen.size,
      postCreated: !!postUri,
      ...(postUri ? { postUri } : {}),
    }
  },
})
