import { invalidRequest } from '../../../../../atproto/xrpc-error.ts'
import type { HoldContext } from '../../../../context.ts'
import type { UploadSession } from '../../../../uploads.ts'

/** The caller's own live upload session; another user's id reads as unknown, revealing nothing. */
export function ownSession(ctx: HoldContext, uploadId: string, did: string): UploadSession {
  const s = ctx.uploads.get(uploadId, did)
  if (!s) throw invalidRequest('unknown, expired or foreign upload id', 'InvalidUploadId')
  return s
}
