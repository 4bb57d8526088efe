/**
 * The one error type storage drivers throw for conditions callers act on. Both drivers use the same codes (S3's
 * names where S3 has one), so the XRPC layer maps them to responses without knowing which backend is behind it.
 */
export type StorageErrorCode =
  /** The upload id is unknown, already completed or aborted, or belongs to another key. */
  | 'NoSuchUpload'
  /** A listed part was never stored, or its ETag does not match the stored part. */
  | 'InvalidPart'
  /** Part numbers in a completion list are not strictly ascending. */
  | 'InvalidPartOrder'
  /** A part other than the last is below the backend's minimum part size (5 MiB on S3). */
  | 'EntityTooSmall'
  /** A part is larger than the backend accepts (S3: 5 GiB; fs: its configured maxPartSize). */
  | 'EntityTooLarge'
  /** The object does not exist (S3's NoSuchKey). */
  | 'NotFound'
  /** The key is not a usable storage path (traversal, absolute, reserved, empty). */
  | 'InvalidKey'
  /** Arguments the backend refuses: part number out of range, empty part list, bad ttl. */
  | 'InvalidRequest'
  /** Anything else the backend reported; the message carries its details. */
  | 'Backend'

export class StorageError extends Error {
  override readonly name = 'StorageError'

  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

export function isStorageError(err: unknown, code?: StorageErrorCode): err is StorageError {
  return err instanceof StorageError && (code === undefined || err.code === code)
}
