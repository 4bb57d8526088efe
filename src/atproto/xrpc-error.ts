/**
 * XRPC errors in ATProto's `{error, message}` shape. Handlers throw these; one mapper per role turns them
 * (and anything unexpected) into responses, hiding the details of 500s.
 */
export class XrpcError extends Error {
  constructor(
    readonly status: number,
    /** The lexicon error name (`InvalidDigest`) or a generic one (`InvalidRequest`, `AuthRequired`). */
    readonly error: string,
    message?: string,
  ) {
    super(message ?? error)
  }

  toJSON(): { error: string; message: string } {
    return { error: this.error, message: this.message }
  }
}

export const invalidRequest = (message: string, error = 'InvalidRequest') => new XrpcError(400, error, message)
export const authRequired = (message = 'Authentication required', error = 'AuthRequired') =>
  new XrpcError(401, error, message)
export const forbidden = (message: string, error = 'Forbidden') => new XrpcError(403, error, message)
export const notFound = (message: string, error = 'NotFound') => new XrpcError(404, error, message)

/** Maps any thrown value to an XRPC error response; unexpected errors become an opaque 500. */
export function xrpcErrorResponse(err: unknown, log?: (msg: string, err: unknown) => void): Response {
  let e: XrpcError
  if (err instanceof XrpcError) e = err
  else {
    log?.('unhandled error', err)
    e = new XrpcError(500, 'InternalServerError', 'Internal Server Error')
  }
  return Response.json(e.toJSON(), { status: e.status })
}
