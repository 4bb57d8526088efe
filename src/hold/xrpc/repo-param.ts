import { invalidRequest } from '../../atproto/xrpc-error.ts'
import type { HoldContext } from '../context.ts'

/**
 * The hold serves exactly one repo: accept its DID or its handle (the public host), refuse others.
 * A did:web with a port contains `%3A`, which an unencoded query string (`?repo=did:web:host%3A8080`, as in
 * the README's curls) delivers decoded; that spelling names the same repo.
 */
export function assertOwnRepo(ctx: HoldContext, repo: string, error = 'RepoNotFound'): void {
  const did = ctx.identity.did
  const handle = new URL(ctx.identity.publicUrl).host
  if (repo !== did && repo !== handle && repo !== decodeURIComponent(did)) throw invalidRequest(`Could not find repo: ${repo}`, error)
}
