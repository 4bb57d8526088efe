import { forbidden } from '../../../../../atproto/xrpc-error.ts'
import type { HoldContext } from '../../../../context.ts'

/** Push methods need blob:write (captain, crew with blob:write, or anyone when allowAllCrew). */
export function assertCanWrite(ctx: HoldContext, did: string): void {
  if (!ctx.crew.canWrite(did)) throw forbidden('blob:write permission required on this hold (ask the captain, or requestCrew)')
}
