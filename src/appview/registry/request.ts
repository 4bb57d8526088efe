import { bearerChallenge, errors, RegistryError, unauthorizedResponse } from '../../oci/errors.ts'
import { parseRepositoryName, type RepositoryName } from '../../oci/reference.ts'
import { allows, TokenError, type RegistryClaims } from '../auth/registry-token.ts'
import type { AppviewContext } from '../context.ts'
import { HoldError } from '../store/hold-client.ts'
import { PdsError } from '../store/manifest-store.ts'

/** The owner of a repository name, resolved: whose PDS holds its records. */
export interface Owner {
  did: string
  pdsUrl: string
}

/** A 401 that carries the challenge docker needs to fetch a token with the right scope. */
export class ChallengeError extends Error {
  constructor(
    readonly scope: string | undefined,
    readonly insufficient: boolean,
    readonly reason?: string,
  ) {
    super(reason ?? 'authentication required')
  }
}

export type Action = 'pull' | 'push' | 'delete'

/** Per-request state shared by the registry handlers. */
export interface RegistryRequest {
  ctx: AppviewContext
  req: Request
  url: URL
  /** Verified bearer token claims, or null when none was sent. */
  claims: RegistryClaims | null
}

export interface RepoRequest extends RegistryRequest {
  name: RepositoryName
  owner: Owner
}

/** Reads and verifies the bearer token; an invalid one is a 401 (the client will fetch a new one). */
export async function readClaims(ctx: AppviewContext, req: Request): Promise<RegistryClaims | null> {
  const h = req.headers.get('authorization')
  if (!h) return null
  const m = /^Bearer\s+(\S+)$/i.exec(h)
  if (!m) throw new ChallengeError(undefined, false, 'use a bearer token from the token endpoint')
  try {
    return await ctx.tokens.verify(m[1]!)
  } catch (err) {
    if (err instanceof TokenError) throw new ChallengeError(undefined, false, err.message)
    throw err
  }
}

/** Checks the token grants `action` on the repository (and `extra` actions, e.g. pull on a mount source). */
export function requireAccess(r: RegistryRequest, name: string, actions: Action[]): void {
  const scope = `repository:${name}:${actions.includes('pull') && actions.length === 1 ? 'pull' : [...new Set(['pull', ...actions])].join(',')}`
  if (!r.claims) throw new ChallengeError(scope, false)
  for (const a of actions) if (!allows(r.claims, 'repository', name, a)) throw new ChallengeError(scope, true, `token does not grant ${a} on ${name}`)
}

/** Parses the name and resolves its identity (handle or DID) to the DID and PDS that own it. */
export async function resolveRepo(r: RegistryRequest, rawName: string): Promise<RepoRequest> {
  const name = parseRepositoryName(rawName)
  const key = name.identity
  let owner = r.ctx.owners.get(key)
  if (owner === undefined) {
    const did = await r.ctx.auth.resolveIdentity(name.identity)
    let pdsUrl: string | null = null
    if (did) pdsUrl = await r.ctx.resolver.resolvePds(did).catch(() => null)
    owner = did && pdsUrl ? { did, pdsUrl } : null
    r.ctx.owners.set(key, owner, owner ? undefined : 30_000)
  }
  if (!owner) throw errors.nameUnknown(rawName)
  return { ...r, name, owner }
}

/** The bearer challenge for this AppView. */
export function challenge(ctx: AppviewContext, scope?: string, insufficient = false): string {
  return bearerChallenge({
    realm: `${ctx.config.server.base_url}/auth/token`,
    service: ctx.config.auth.service_name,
    scope,
    error: insufficient ? 'insufficient_scope' : undefined,
  })
}

/** Maps what handlers throw to registry responses: challenges, hold and PDS failures, everything else opaque. */
export function toRegistryError(ctx: AppviewContext, err: unknown): RegistryError | Response {
  if (err instanceof ChallengeError) {
    return unauthorizedResponse(challenge(ctx, err.scope, err.insufficient), errors.unauthorized(err.reason))
  }
  if (err instanceof HoldError) {
    if (err.error === 'QuotaExceeded') return errors.denied({ reason: 'quota exceeded', message: err.message })
    if (err.status === 401 || err.status === 403) return errors.denied({ reason: 'the hold refused access', message: err.message })
    ctx.log.error('hold error', err, { status: err.status, error: err.error })
    return errors.unavailable({ reason: 'blob storage (hold) unavailable' })
  }
  if (err instanceof PdsError) {
    ctx.log.error('pds error', err, { status: err.status })
    return errors.unavailable({ reason: "the owner's PDS could not be reached" })
  }
  if (err instanceof RegistryError) return err
  ctx.log.error('unhandled registry error', err)
  return errors.unknown()
}
