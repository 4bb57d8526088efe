import { errors } from '../../oci/errors.ts'
import type { RepoRequest } from './request.ts'

/**
 * The hold new blobs of this user go to: their sailor profile's `defaultHold`, else the AppView's default.
 * Profiles are cached briefly per user (ctx.profiles), so a push's many requests cost one PDS read.
 */
export async function pushHold(r: RepoRequest): Promise<string> {
  const { did, pdsUrl } = r.owner
  let hold = r.ctx.pushHolds.get(did)
  if (hold === undefined) {
    const profile = await r.ctx.manifests.getProfile(pdsUrl, did)
    hold = profile?.defaultHold || r.ctx.config.default_hold_did || null
    r.ctx.pushHolds.set(did, hold)
  }
  if (!hold) throw errors.denied({ reason: 'no hold configured: set defaultHold in your io.atcr.sailor.profile record' })
  return hold
}

/** The hold holding a blob of this repository: where its manifests said, else where this user pushes. */
export async function blobHold(r: RepoRequest, digest: string): Promise<string> {
  return r.ctx.index.holdFor(r.owner.did, r.name.repository, digest) ?? pushHold(r)
}
