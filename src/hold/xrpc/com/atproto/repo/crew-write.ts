import { forbidden, invalidRequest } from '../../../../../atproto/xrpc-error.ts'
import { CREW, CREW_ADMIN, type CrewMember } from '../../../../crew.ts'
import type { HoldContext } from '../../../../context.ts'

/** Collections writable through com.atproto.repo.*: only crew. Captain fields come from config; layer and stats from the hold. */
export const WRITABLE = new Set([CREW])

const isPrivileged = (m: { role?: string; permissions?: string[] } | undefined) =>
  !!m && (m.role === 'admin' || m.role === 'owner' || (m.permissions ?? []).includes(CREW_ADMIN))

/**
 * Crew changes by `caller`: the captain may do anything; a crew admin may manage ordinary members but may not
 * create, change or remove admins (so admins cannot escalate each other or lock out the captain).
 */
export function assertCrewWrite(ctx: HoldContext, caller: string, collection: string, existing: CrewMember | undefined, next?: Record<string, unknown>): void {
  if (!WRITABLE.has(collection)) throw invalidRequest(`${collection} is not writable on this hold`, 'InvalidCollection')
  if (!ctx.crew.canAdminCrew(caller)) throw forbidden('only the captain or a crew admin may change crew records')
  if (ctx.crew.isCaptain(caller)) return
  if (isPrivileged(existing) || isPrivileged(next as never)) throw forbidden('only the captain may add, change or remove crew admins')
}
