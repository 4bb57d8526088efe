/**
 * The one interface every hold storage backend implements (DESIGN.md §6). Keys are storage paths such as
 * `docker/registry/v2/blobs/sha256/ab/<hex>/data`; the driver never interprets them.
 *
 * URLs handed out by a driver are what clients (docker, skopeo, the AppView) fetch directly: the s3 driver
 * presigns against the bucket (optionally swapping in a pull-zone host for GETs); the fs driver returns URLs on
 * the hold itself carrying an HMAC signature and expiry, which the hold's own routes verify via `serveSigned`.
 */
export interface StorageDriver {
  /** `fs` or `s3`: shown in describeServer and logs. */
  readonly name: 'fs' | 's3'

  /** Size of the object at `key`, or null when it does not exist. */
  stat(key: string): Promise<{ size: number } | null>

  /** A URL that answers GET (and HEAD) with the object's bytes until `ttlSeconds` from now. */
  getUrl(key: string, ttlSeconds: number, method?: 'GET' | 'HEAD'): Promise<string>

  /** Reads a whole (small) object; null when absent. Used for hashing verification and tests, not for layers in bulk. */
  read(key: string): Promise<ReadableStream<Uint8Array> | null>

  /** Writes a whole object (small objects: tests, repo exports). */
  write(key: string, data: Uint8Array | ReadableStream<Uint8Array>): Promise<void>

  /** Deletes an object; deleting a missing key is not an error. */
  delete(key: string): Promise<void>

  /** Keys under `prefix`, in lexical order, for garbage collection and tests. */
  list(prefix: string): AsyncIterable<{ key: string; size: number }>

  /**
   * Starts a multipart upload whose parts will assemble into the object at `key`.
   * Returns the backend's upload id (for s3 the real UploadId).
   */
  createMultipart(key: string): Promise<string>

  /** A URL accepting `PUT` of part `partNumber` (1..10000) of the upload, valid for `ttlSeconds`. */
  partUrl(key: string, uploadId: string, partNumber: number, ttlSeconds: number): Promise<PartUrl>

  /**
   * Stores one part given its bytes directly (the hold's `uploadPart` path, bytes passing through the hold).
   * Returns the part's ETag as the backend reports it.
   */
  putPart(key: string, uploadId: string, partNumber: number, body: ReadableStream<Uint8Array> | Uint8Array): Promise<string>

  /**
   * Assembles the listed parts (ascending part numbers) into the object at `key`. A driver that reads every byte
   * while assembling (fs) returns the object's sha256, sparing the caller a second read to verify it.
   */
  completeMultipart(key: string, uploadId: string, parts: CompletedPart[]): Promise<{ sha256?: string } | void>

  /** Discards an unfinished upload and every part stored for it. Aborting an unknown upload is not an error. */
  abortMultipart(key: string, uploadId: string): Promise<void>

  /**
   * Moves an object to another key (the content-addressed key after verification). The source is gone afterwards.
   * For s3 this is CopyObject + DeleteObject.
   */
  move(from: string, to: string): Promise<void>
}

export interface PartUrl {
  url: string
  method: 'PUT'
  /** Headers the client must send with the PUT (none today; kept for wire compatibility). */
  headers?: Record<string, string>
}

export interface CompletedPart {
  partNumber: number
  etag: string
}

/** Limits on multipart uploads, shared with the XRPC layer: S3's own numbers. */
export const MIN_PART_NUMBER = 1
export const MAX_PART_NUMBER = 10000

/** Content-addressed key of a blob, the CNCF distribution layout so existing buckets can be adopted. */
export function blobKey(digest: string): string {
  const m = /^sha256:([a-f0-9]{64})$/.exec(digest)
  if (!m) throw new Error(`not a sha256 digest: ${digest}`)
  const hex = m[1]!
  return `docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`
}

/** Key of an in-progress upload's assembled object, before its digest has been verified. */
export function uploadKey(uploadId: string): string {
  if (!/^[A-Za-z0-9_-]{8,128}$/.test(uploadId)) throw new Error(`bad upload id: ${uploadId}`)
  return `docker/registry/v2/uploads/${uploadId}/data`
}
