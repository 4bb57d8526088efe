/**
 * Content digests (image-spec `descriptor.md` § Digests).
 *
 * Grammar: `algorithm ":" encoded`. The image-spec says implementations SHOULD let unregistered algorithms pass
 * validation, but a registry can only ever verify or store content it can hash, and CNCF distribution (go-digest)
 * answers `DIGEST_INVALID` for unavailable algorithms. So this module accepts exactly the registered algorithms
 * we can compute with `Bun.CryptoHasher`:
 *   - `sha256`: encoded MUST match `[a-f0-9]{64}` (image-spec: "`[A-F]` MUST NOT be used");
 *   - `sha512`: encoded MUST match `[a-f0-9]{128}`.
 * Everything else (uppercase hex, wrong length, `md5:`, `blake3:`, empty) is rejected.
 *
 * Error style: `parseDigest` THROWS a `RegistryError` with code `DIGEST_INVALID` (400), so an HTTP handler can
 * call it on a path or query parameter and let the one error mapper answer; `isValidDigest` is the
 * non-throwing predicate.
 *
 * The hold stores only sha256 (its storage layout is `blobs/sha256/<2 hex>/<hex>/data`, and the PDS blob CID of a
 * manifest is a raw-codec CIDv1 over sha256), so callers that touch storage must also check `isSha256`.
 */
import { errors } from './errors.ts'

export type DigestAlgorithm = 'sha256' | 'sha512'

/** Hex length of each supported algorithm's output. */
export const DIGEST_HEX_LENGTH: Readonly<Record<DigestAlgorithm, number>> = Object.freeze({ sha256: 64, sha512: 128 })

export type ParsedDigest = {
  algorithm: DigestAlgorithm
  /** The lowercase hex part. */
  encoded: string
  /** The full `algorithm:encoded` string (identical to the input). */
  digest: string
}

const SHA256_RE = /^sha256:[a-f0-9]{64}$/
const SHA512_RE = /^sha512:[a-f0-9]{128}$/
/** image-spec digest grammar, used only to give a more precise error reason. */
const GRAMMAR_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/

/** Why `s` is not an acceptable digest, or `undefined` if it is one. */
function invalidReason(s: unknown): string | undefined {
  if (typeof s !== 'string' || s.length === 0) return 'digest is empty'
  if (SHA256_RE.test(s) || SHA512_RE.test(s)) return undefined
  if (!GRAMMAR_RE.test(s)) return 'digest does not match the grammar algorithm:encoded'
  const alg = s.slice(0, s.indexOf(':'))
  if (alg !== 'sha256' && alg !== 'sha512') return `unsupported digest algorithm ${JSON.stringify(alg)} (sha256 and sha512 only)`
  const enc = s.slice(alg.length + 1)
  const want = DIGEST_HEX_LENGTH[alg]
  if (!/^[a-f0-9]*$/.test(enc)) return `${alg} digest must be lowercase hex`
  return `${alg} digest must be ${want} hex characters, got ${enc.length}`
}

/** True for a well-formed sha256 or sha512 digest. */
export function isValidDigest(s: unknown): s is string {
  return typeof s === 'string' && (SHA256_RE.test(s) || SHA512_RE.test(s))
}

/** True for a well-formed sha256 digest: the only kind the hold (and a PDS blob CID) can hold. */
export function isSha256(s: unknown): s is string {
  return typeof s === 'string' && SHA256_RE.test(s)
}

/**
 * Parses a digest. Throws `RegistryError` `DIGEST_INVALID` (detail `{digest, reason}`) when it is not a valid
 * sha256/sha512 digest.
 */
export function parseDigest(s: string): ParsedDigest {
  const reason = invalidReason(s)
  if (reason !== undefined) throw errors.digestInvalid(typeof s === 'string' ? s : String(s), reason)
  const i = s.indexOf(':')
  return { algorithm: s.slice(0, i) as DigestAlgorithm, encoded: s.slice(i + 1), digest: s }
}

/** Throws `DIGEST_INVALID` unless `s` is a valid sha256 digest (the hold cannot store anything else). */
export function assertSha256(s: string): ParsedDigest {
  const d = parseDigest(s)
  if (d.algorithm !== 'sha256') throw errors.digestInvalid(s, 'only sha256 digests are supported by blob storage')
  return d
}

type Hashable = Uint8Array | ArrayBuffer | string

/** `algorithm:hex` of `bytes` (strings are hashed as their UTF-8 bytes). */
export function digestOf(bytes: Hashable, algorithm: DigestAlgorithm = 'sha256'): string {
  const hasher = new Bun.CryptoHasher(algorithm)
  hasher.update(bytes)
  return `${algorithm}:${hasher.digest('hex')}`
}

/**
 * Streaming digest for uploads that pass through in chunks: `update(chunk)` for each chunk, then `digest()`.
 * Counts bytes too (`size`), because the spec wants both checked (`DIGEST_INVALID`, `SIZE_INVALID`).
 * `digest()` may be called more than once (the result is cached) but no `update` may follow it.
 */
export class DigestVerifier {
  readonly algorithm: DigestAlgorithm
  private readonly hasher: Bun.CryptoHasher
  private bytes = 0
  private result: string | undefined

  constructor(algorithm: DigestAlgorithm = 'sha256') {
    if (algorithm !== 'sha256' && algorithm !== 'sha512') throw errors.digestInvalid(undefined, `unsupported algorithm ${String(algorithm)}`)
    this.algorithm = algorithm
    this.hasher = new Bun.CryptoHasher(algorithm)
  }

  /** A verifier using the algorithm of `expected` (throws DIGEST_INVALID if `expected` is malformed). */
  static for(expected: string): DigestVerifier {
    return new DigestVerifier(parseDigest(expected).algorithm)
  }

  update(chunk: Uint8Array | ArrayBuffer): this {
    if (this.result !== undefined) throw new Error('DigestVerifier: update() after digest()')
    this.hasher.update(chunk)
    this.bytes += chunk.byteLength
    return this
  }

  /** Bytes seen so far. */
  get size(): number {
    return this.bytes
  }

  /** `algorithm:hex` of everything seen; finalises the hash. */
  digest(): string {
    this.result ??= `${this.algorithm}:${this.hasher.digest('hex')}`
    return this.result
  }

  /** Whether the content seen hashes to `expected`. Finalises the hash. */
  matches(expected: string): boolean {
    return this.digest() === expected
  }

  /**
   * Throws `DIGEST_INVALID` if the content does not hash to `expected` and `SIZE_INVALID` if `expectedSize` is
   * given and differs from the byte count. Returns the computed digest.
   */
  verify(expected: string, expectedSize?: number): string {
    const got = this.digest()
    if (expectedSize !== undefined && expectedSize !== this.bytes) {
      throw errors.sizeInvalid({ expected: expectedSize, received: this.bytes })
    }
    if (got !== expected) throw errors.digestInvalid(expected, `content hashes to ${got}`)
    return got
  }
}
