/**
 * The registry protocol's error codes, in ONE table, and the one place that turns them into HTTP responses.
 *
 * Body shape (distribution-spec `spec.md` § Error Codes): `{"errors":[{"code","message","detail"}]}` with
 * `Content-Type: application/json`. `code` is what clients switch on; `message` is for humans; `detail` is
 * arbitrary JSON and is omitted when there is none (as CNCF distribution does: `detail,omitempty`).
 *
 * Statuses. The OCI spec lists the 14 codes but not their statuses; the statuses here are those of the CNCF
 * reference registry (`distribution/distribution` `registry/api/errcode/register.go`) and of the Docker
 * Registry HTTP API V2 document it publishes (`docs/content/spec/api.md`), with two deliberate choices:
 *  - `BLOB_UPLOAD_INVALID` → 400. `register.go` registers 404, but `api.md` lists it under "400 Bad Request"
 *    for every upload endpoint, and the OCI endpoint table gives PUT-upload failures as 400/404/416. An upload
 *    that "can no longer proceed" is a client-side problem, so 400.
 *  - `MANIFEST_BLOB_UNKNOWN` → 400 (as `register.go`, and `api.md` lists blob-unknown under PUT manifest's
 *    "400 Bad Request"): the manifest the client sent is unacceptable; nothing at the request URL is missing.
 * `UNSUPPORTED` is 405 (register.go); CNCF distribution never answers 415, so 415 is only used where a caller
 * explicitly asks for it (`errors.unsupported(detail, 415)`, e.g. an unsupported request Content-Type).
 *
 * Manifests over the size limit: the OCI spec (§ Pushing Manifests) says a registry SHOULD answer
 * `413 Payload Too Large`; CNCF distribution instead answers 400 `MANIFEST_INVALID` (its `http.MaxBytesReader`
 * error wrapped as detail). We follow the spec's status and keep distribution's code: 413 `MANIFEST_INVALID`
 * (`errors.manifestTooLarge`). Out-of-order chunks: the spec requires status 416 and only lists OCI codes, so
 * `errors.rangeInvalid` is 416 with code `BLOB_UPLOAD_INVALID` (distribution's own code for it, `RANGE_INVALID`,
 * is in the table for completeness).
 *
 * No I/O here: `registryErrorResponse` builds a `Response` object and, for unexpected errors, calls the
 * optional logger the caller hands in.
 */
import type { Logger } from '../log.ts'

/** Every code this registry can answer with. */
export type ErrorCode =
  // distribution-spec code-1 … code-14
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  // Docker / CNCF distribution extras (spec: "legacy Docker support error codes", OPTIONAL for clients)
  | 'MANIFEST_UNVERIFIED'
  | 'TAG_INVALID'
  | 'PAGINATION_NUMBER_INVALID'
  | 'RANGE_INVALID'
  | 'UNAVAILABLE'
  | 'UNKNOWN'

export type ErrorDescriptor = {
  /** Default HTTP status for the code. Individual errors may override it (413, 415, 416). */
  readonly status: number
  /** Standard message: the spec's description for the 14 spec codes, CNCF distribution's otherwise. */
  readonly message: string
}

/** The one table. */
export const ERROR_CODES: Readonly<Record<ErrorCode, ErrorDescriptor>> = Object.freeze({
  BLOB_UNKNOWN: { status: 404, message: 'blob unknown to registry' },
  BLOB_UPLOAD_INVALID: { status: 400, message: 'blob upload invalid' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: 'blob upload unknown to registry' },
  DIGEST_INVALID: { status: 400, message: 'provided digest did not match uploaded content' },
  MANIFEST_BLOB_UNKNOWN: { status: 400, message: 'manifest references a manifest or blob unknown to registry' },
  MANIFEST_INVALID: { status: 400, message: 'manifest invalid' },
  MANIFEST_UNKNOWN: { status: 404, message: 'manifest unknown to registry' },
  NAME_INVALID: { status: 400, message: 'invalid repository name' },
  NAME_UNKNOWN: { status: 404, message: 'repository name not known to registry' },
  SIZE_INVALID: { status: 400, message: 'provided length did not match content length' },
  UNAUTHORIZED: { status: 401, message: 'authentication required' },
  DENIED: { status: 403, message: 'requested access to the resource is denied' },
  UNSUPPORTED: { status: 405, message: 'the operation is unsupported' },
  TOOMANYREQUESTS: { status: 429, message: 'too many requests' },
  MANIFEST_UNVERIFIED: { status: 400, message: 'manifest failed signature verification' },
  TAG_INVALID: { status: 400, message: 'manifest tag did not match URI' },
  PAGINATION_NUMBER_INVALID: { status: 400, message: 'invalid number of results requested' },
  RANGE_INVALID: { status: 416, message: 'invalid content range' },
  UNAVAILABLE: { status: 503, message: 'service unavailable' },
  UNKNOWN: { status: 500, message: 'unknown error' },
})

export type RegistryErrorOptions = {
  /** Replaces the standard message (keep it human-readable and free of secrets). */
  message?: string
  /** Any JSON value; sent to the client as `detail`. Never put secrets or internal stack traces here. */
  detail?: unknown
  /** Overrides the code's default status (413 too-large manifest, 415, 416 range). */
  status?: number
  /** Extra response headers (`WWW-Authenticate`, `Retry-After`, `Range`, …). */
  headers?: Record<string, string>
  cause?: unknown
}

/**
 * An error the client is meant to see. Everything thrown by `src/oci` for bad input is one of these, so an
 * HTTP layer can map any thrown value with `registryErrorResponse` without knowing where it came from.
 */
export class RegistryError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly detail?: unknown
  readonly headers?: Readonly<Record<string, string>>

  constructor(code: ErrorCode, opts: RegistryErrorOptions = {}) {
    const desc = ERROR_CODES[code]
    super(opts.message ?? desc.message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = 'RegistryError'
    this.code = code
    this.status = opts.status ?? desc.status
    if (opts.detail !== undefined) this.detail = opts.detail
    if (opts.headers) this.headers = { ...opts.headers }
  }

  /** The JSON object placed in the `errors` array. */
  toJSON(): { code: ErrorCode; message: string; detail?: unknown } {
    return this.detail === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, detail: this.detail }
  }
}

export function isRegistryError(err: unknown): err is RegistryError {
  return err instanceof RegistryError
}

/** True when `err` is a RegistryError with the given code (handy in tests and in `catch` blocks). */
export function hasErrorCode(err: unknown, code: ErrorCode): err is RegistryError {
  return err instanceof RegistryError && err.code === code
}

/**
 * Factories with the standard messages and a consistent `detail` shape (`{ digest }`, `{ name }`, …), so the
 * same condition looks the same wherever it is raised.
 */
export const errors = {
  blobUnknown: (digest?: string) => new RegistryError('BLOB_UNKNOWN', { detail: digest === undefined ? undefined : { digest } }),
  /** The upload can no longer proceed (bad chunk, storage refused it, malformed Content-Range, …). */
  blobUploadInvalid: (detail?: unknown) => new RegistryError('BLOB_UPLOAD_INVALID', { detail }),
  blobUploadUnknown: (uploadId?: string) =>
    new RegistryError('BLOB_UPLOAD_UNKNOWN', { detail: uploadId === undefined ? undefined : { uploadId } }),
  /** Malformed digest, unsupported algorithm, or content that does not hash to the given digest. */
  digestInvalid: (digest?: string, reason?: string) =>
    new RegistryError('DIGEST_INVALID', {
      detail: digest === undefined && reason === undefined ? undefined : { digest, reason },
    }),
  /** A manifest references a blob/manifest that is not stored. Raise one per missing digest. */
  manifestBlobUnknown: (digest: string) => new RegistryError('MANIFEST_BLOB_UNKNOWN', { detail: { digest } }),
  /** The manifest failed validation; `reason` says which rule (it becomes the `detail`). */
  manifestInvalid: (reason: string) => new RegistryError('MANIFEST_INVALID', { detail: reason }),
  /** Spec § Pushing Manifests: 413 for manifests over the limit (code as CNCF distribution: MANIFEST_INVALID). */
  manifestTooLarge: (size: number | undefined, max: number) =>
    new RegistryError('MANIFEST_INVALID', {
      status: 413,
      message: 'manifest too large',
      detail: size === undefined ? { max } : { size, max },
    }),
  manifestUnknown: (reference?: string, message?: string) =>
    new RegistryError('MANIFEST_UNKNOWN', { message, detail: reference === undefined ? undefined : { reference } }),
  manifestUnverified: () => new RegistryError('MANIFEST_UNVERIFIED'),
  nameInvalid: (name: string, reason?: string) =>
    new RegistryError('NAME_INVALID', { detail: reason === undefined ? { name } : { name, reason } }),
  nameUnknown: (name: string) => new RegistryError('NAME_UNKNOWN', { detail: { name } }),
  sizeInvalid: (detail?: unknown) => new RegistryError('SIZE_INVALID', { detail }),
  tagInvalid: (tag: string, reason?: string) =>
    new RegistryError('TAG_INVALID', { message: 'invalid tag', detail: reason === undefined ? { tag } : { tag, reason } }),
  unauthorized: (detail?: unknown) => new RegistryError('UNAUTHORIZED', { detail }),
  denied: (detail?: unknown) => new RegistryError('DENIED', { detail }),
  /** 405 by default (spec/distribution); pass 415 for an unsupported request media type. */
  unsupported: (detail?: unknown, status: 405 | 415 = 405) => new RegistryError('UNSUPPORTED', { detail, status }),
  /** 429; `retryAfterSeconds` becomes `Retry-After`, which the spec says SHOULD accompany a 429. */
  tooManyRequests: (retryAfterSeconds?: number) =>
    new RegistryError('TOOMANYREQUESTS', {
      headers: retryAfterSeconds === undefined ? undefined : { 'Retry-After': String(Math.max(0, Math.ceil(retryAfterSeconds))) },
    }),
  paginationNumberInvalid: (n: string | number) => new RegistryError('PAGINATION_NUMBER_INVALID', { detail: { n } }),
  /**
   * A chunk that does not continue the upload (spec: MUST answer 416). Code BLOB_UPLOAD_INVALID because the
   * spec's code list is closed; `currentSize` (bytes received so far) becomes `Range: 0-<size-1>` so the client
   * can resume, as the spec's upload-status response does.
   */
  rangeInvalid: (currentSize?: number, detail?: unknown) =>
    new RegistryError('BLOB_UPLOAD_INVALID', {
      status: 416,
      message: 'invalid content range',
      detail,
      headers: currentSize === undefined ? undefined : { Range: `0-${Math.max(0, currentSize - 1)}` },
    }),
  unavailable: (detail?: unknown) => new RegistryError('UNAVAILABLE', { detail }),
  unknown: () => new RegistryError('UNKNOWN'),
} as const

function jsonResponse(status: number, errs: readonly RegistryError[], extraHeaders?: Record<string, string>): Response {
  const headers = new Headers({ 'Content-Type': 'application/json' })
  for (const e of errs) for (const [k, v] of Object.entries(e.headers ?? {})) headers.set(k, v)
  for (const [k, v] of Object.entries(extraHeaders ?? {})) headers.set(k, v)
  return new Response(JSON.stringify({ errors: errs.map((e) => e.toJSON()) }), { status, headers })
}

/**
 * The single mapping from a thrown value to the protocol's error response.
 *  - a `RegistryError` → its status, headers and `{errors:[…]}` body;
 *  - a non-empty array of `RegistryError`s (e.g. one MANIFEST_BLOB_UNKNOWN per missing blob) → all in one body,
 *    status of the first (as CNCF distribution's `errcode.ServeJSON`);
 *  - anything else → 500 `UNKNOWN` with the standard message and no detail, so internal messages (paths,
 *    upstream URLs, tokens in error strings) never reach the client; the real error goes to `log`.
 * For HEAD requests the server layer must drop the body (Bun.serve does so for HEAD).
 */
export function registryErrorResponse(err: unknown, log?: Pick<Logger, 'error'>): Response {
  if (err instanceof RegistryError) return jsonResponse(err.status, [err])
  if (Array.isArray(err) && err.length > 0 && err.every((e) => e instanceof RegistryError)) {
    const errs = err as RegistryError[]
    return jsonResponse(errs[0]!.status, errs)
  }
  log?.error('unhandled error in registry request', err)
  return jsonResponse(500, [errors.unknown()])
}

/**
 * 401 with the `WWW-Authenticate` challenge that tells docker where to get a token (docker token spec). `err`
 * defaults to `UNAUTHORIZED`; pass a RegistryError with a `detail` listing the required access if wanted
 * (distribution sends `[{Type,Name,Action}]`). Whatever the error's own status, the response is 401: a
 * challenge only means something on a 401.
 */
export function unauthorizedResponse(challenge: string, err: RegistryError = errors.unauthorized()): Response {
  return jsonResponse(401, [err], { 'WWW-Authenticate': challenge })
}

/** Quote a challenge parameter value (RFC 7235 quoted-string: escape `\` and `"`). */
function quote(v: string): string {
  return `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`
}

/**
 * Builds `Bearer realm="…",service="…",scope="…"[,error="…"]` (docker token spec, `docs/content/spec/auth/token.md`).
 * Several scopes are joined by a space inside one `scope` parameter, as CNCF distribution does. `error` is
 * `insufficient_scope` when a token was presented but lacks the access (RFC 6750 §3).
 */
export function bearerChallenge(opts: {
  realm: string
  service: string
  scope?: string | readonly string[]
  error?: 'invalid_token' | 'insufficient_scope'
}): string {
  const parts = [`realm=${quote(opts.realm)}`, `service=${quote(opts.service)}`]
  const scope = typeof opts.scope === 'string' ? opts.scope : opts.scope?.join(' ')
  if (scope) parts.push(`scope=${quote(scope)}`)
  if (opts.error) parts.push(`error=${quote(opts.error)}`)
  return `Bearer ${parts.join(',')}`
}
