/**
 * Manifest / index validation for `PUT /v2/<name>/manifests/<reference>` (image-spec `manifest.md`,
 * `image-index.md`, `descriptor.md`; Docker `manifest-v2-2.md`).
 *
 * What is checked, and why:
 *  - size ≤ `MAX_MANIFEST_BYTES` (4 MiB: the spec says registries SHOULD accept at least 4 MB and SHOULD answer
 *    413 above their limit; CNCF distribution's limit is also 4 MiB) → 413 `MANIFEST_INVALID`;
 *  - strict UTF-8 JSON whose top level is an object;
 *  - `schemaVersion` is the integer 2 (1 = Docker schema 1, which we cannot store: no signing, no conversion);
 *  - the media type: body `mediaType` and `Content-Type` header must agree when both are present; either alone
 *    decides; neither → refused, because the type must be known to serve the manifest back with the right
 *    `Content-Type`. A header of `application/json`, `application/octet-stream` or empty counts as "absent"
 *    (ad-hoc clients send those by default). CNCF distribution chooses the parser from the header only and
 *    requires the body `mediaType` for Docker types; we are a little more lenient, never less strict on shape;
 *  - image manifests: `config` descriptor, `layers` array (MAY be empty: artifacts), no `manifests` key;
 *    indexes: `manifests` array (MAY be empty, image-index.md), no `config`/`layers` keys — the same cross-shape
 *    check distribution makes, so a manifest can never be mistaken for an index or vice versa;
 *  - every descriptor: `mediaType` (RFC 6838 `type/subtype`), `digest` (sha256/sha512, `digest.ts`), `size`
 *    (non-negative safe integer); optional `urls` (strings), `annotations` (string→string), `artifactType`,
 *    `data` (string); index children's optional `platform` needs string `architecture` and `os`;
 *  - OCI-only top-level fields `subject` (descriptor), `artifactType` (media type) and `annotations` (string map)
 *    are validated and returned for OCI types; on Docker types they are not part of the schema and are ignored,
 *    as distribution's schema2 types ignore them.
 * Unknown config/layer/child media types are accepted (image-spec: implementations storing manifests MUST NOT
 * error on them). `artifactType` being required when `config.mediaType` is the empty type is NOT enforced: older
 * artifact tools omit it and a registry only stores and serves the bytes.
 *
 * All failures throw `RegistryError` `MANIFEST_INVALID` (detail: what is wrong, with a JSON path), including a
 * malformed descriptor digest: the manifest is what is invalid (distribution's api.md allows DIGEST_INVALID there
 * too, but its handler reports DIGEST_INVALID for the request's own digest — see `assertManifestDigest`).
 */
import { digestOf, isValidDigest, parseDigest, type DigestAlgorithm } from './digest.ts'
import { errors, RegistryError } from './errors.ts'
import {
  DOCKER_MANIFEST,
  isImageManifestMediaType,
  isIndexMediaType,
  isSchema1MediaType,
  isValidMediaTypeSyntax,
  NON_DISTRIBUTABLE_LAYER_MEDIA_TYPES,
  normalizeMediaType,
  OCI_INDEX,
  OCI_MANIFEST,
  type ManifestMediaType,
} from './media-types.ts'

/** 4 MiB: the size the spec says registries SHOULD at least accept, and CNCF distribution's limit. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024

/** OCI platform of an index entry. `osVersion`/`osFeatures` are the OCI `os.version`/`os.features` (the lexicon spelling). */
export type Platform = {
  architecture: string
  os: string
  osVersion?: string
  osFeatures?: string[]
  variant?: string
  /** Reserved by the image-spec; kept if present. */
  features?: string[]
}

export type Descriptor = {
  mediaType: string
  digest: string
  size: number
  urls?: string[]
  annotations?: Record<string, string>
  artifactType?: string
  /** Only on index children. */
  platform?: Platform
}

export type ParsedManifest = {
  /** The effective media type (body `mediaType`, else the Content-Type header): serve it back as Content-Type. */
  mediaType: ManifestMediaType
  kind: 'image' | 'index'
  schemaVersion: 2
  /** Image manifests only. */
  config?: Descriptor
  /** Image manifests: layers in order (possibly empty). Indexes: `[]`. */
  layers: Descriptor[]
  /** Indexes: children with their platforms. Image manifests: `[]`. */
  manifests: Descriptor[]
  subject?: Descriptor
  artifactType?: string
  annotations?: Record<string, string>
  /** The exact bytes pushed: store and serve these, never a re-serialisation (the digest is over them). */
  raw: Uint8Array
  /** sha256 of `raw`. */
  digest: string
  /** `raw.byteLength`. */
  size: number
}

/** Content-Type values that say nothing about which manifest schema the body is. */
const GENERIC_CONTENT_TYPES = new Set(['', 'application/json', 'application/octet-stream'])

type Json = null | boolean | number | string | Json[] | { [k: string]: Json }
type JsonObject = { [k: string]: Json }

function invalid(reason: string): RegistryError {
  return errors.manifestInvalid(reason)
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function has(o: JsonObject, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k)
}

function optionalString(o: JsonObject, k: string, path: string): string | undefined {
  if (!has(o, k)) return undefined
  const v = o[k]
  if (typeof v !== 'string') throw invalid(`${path}.${k} must be a string`)
  return v
}

function optionalStringArray(o: JsonObject, k: string, path: string): string[] | undefined {
  if (!has(o, k)) return undefined
  const v = o[k]
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw invalid(`${path}.${k} must be an array of strings`)
  return v as string[]
}

/** image-spec annotations.md: a string→string map. */
function optionalAnnotations(o: JsonObject, path: string): Record<string, string> | undefined {
  if (!has(o, 'annotations')) return undefined
  const v = o.annotations
  if (v === null) return undefined // Go encoders emit `null` for a nil map; same meaning as absent.
  if (!isObject(v)) throw invalid(`${path}.annotations must be an object of string values`)
  const out: Record<string, string> = {}
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') throw invalid(`${path}.annotations[${JSON.stringify(k)}] must be a string`)
    out[k] = val
  }
  return out
}

function optionalMediaType(o: JsonObject, k: string, path: string): string | undefined {
  const v = optionalString(o, k, path)
  if (v !== undefined && !isValidMediaTypeSyntax(v)) throw invalid(`${path}.${k} is not a valid media type: ${JSON.stringify(v)}`)
  return v
}

function parsePlatform(v: Json | undefined, path: string): Platform {
  if (!isObject(v)) throw invalid(`${path} must be an object`)
  const architecture = v.architecture
  const os = v.os
  if (typeof architecture !== 'string' || architecture === '') throw invalid(`${path}.architecture must be a non-empty string`)
  if (typeof os !== 'string' || os === '') throw invalid(`${path}.os must be a non-empty string`)
  const p: Platform = { architecture, os }
  const osVersion = optionalString(v, 'os.version', path)
  if (osVersion !== undefined) p.osVersion = osVersion
  const osFeatures = optionalStringArray(v, 'os.features', path)
  if (osFeatures !== undefined) p.osFeatures = osFeatures
  const variant = optionalString(v, 'variant', path)
  if (variant !== undefined) p.variant = variant
  const features = optionalStringArray(v, 'features', path)
  if (features !== undefined) p.features = features
  return p
}

function parseDescriptor(v: Json | undefined, path: string, opts: { platform?: boolean } = {}): Descriptor {
  if (!isObject(v)) throw invalid(`${path} must be a descriptor object`)
  const mediaType = v.mediaType
  if (typeof mediaType !== 'string' || mediaType === '') throw invalid(`${path}.mediaType is required`)
  if (!isValidMediaTypeSyntax(mediaType)) throw invalid(`${path}.mediaType is not a valid media type: ${JSON.stringify(mediaType)}`)
  const digest = v.digest
  if (typeof digest !== 'string' || digest === '') throw invalid(`${path}.digest is required`)
  if (!isValidDigest(digest)) {
    let reason = 'invalid'
    try {
      parseDigest(digest)
    } catch (e) {
      const d = e instanceof RegistryError ? (e.detail as { reason?: string } | undefined) : undefined
      reason = d?.reason ?? reason
    }
    throw invalid(`${path}.digest ${JSON.stringify(digest)}: ${reason}`)
  }
  const size = v.size
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw invalid(`${path}.size must be a non-negative integer`)
  }
  const d: Descriptor = { mediaType, digest, size }
  const urls = optionalStringArray(v, 'urls', path)
  if (urls !== undefined) d.urls = urls
  const annotations = optionalAnnotations(v, path)
  if (annotations !== undefined) d.annotations = annotations
  const artifactType = optionalMediaType(v, 'artifactType', path)
  if (artifactType !== undefined) d.artifactType = artifactType
  optionalString(v, 'data', path) // base64 embedded content: only its type is checked
  if (opts.platform && has(v, 'platform') && v.platform !== null) d.platform = parsePlatform(v.platform, `${path}.platform`)
  return d
}

function parseDescriptorArray(o: JsonObject, k: 'layers' | 'manifests', opts: { platform?: boolean } = {}): Descriptor[] {
  if (!has(o, k)) throw invalid(`${k} is required`)
  const v = o[k]
  if (!Array.isArray(v)) throw invalid(`${k} must be an array`)
  return v.map((item, i) => parseDescriptor(item, `${k}[${i}]`, opts))
}

/** Decides the manifest's media type from the body field and the request header. */
function resolveMediaType(bodyType: string | undefined, contentType: string | null): ManifestMediaType {
  const header = normalizeMediaType(contentType)
  const headerGiven = !GENERIC_CONTENT_TYPES.has(header)
  if (bodyType !== undefined && headerGiven && normalizeMediaType(bodyType) !== header) {
    throw invalid(`mediaType ${JSON.stringify(bodyType)} does not match Content-Type ${JSON.stringify(header)}`)
  }
  const t = bodyType !== undefined ? bodyType : headerGiven ? header : undefined
  if (t === undefined) throw invalid('cannot determine the manifest media type: no mediaType field and no manifest Content-Type')
  if (isSchema1MediaType(t)) throw invalid('Docker schema 1 manifests are not supported; push schema 2 or OCI')
  if (isImageManifestMediaType(t) || isIndexMediaType(t)) {
    const normalized = normalizeMediaType(t) as ManifestMediaType
    // The body field must be the exact constant (image-spec: "this field MUST contain the media type …").
    if (bodyType !== undefined && bodyType !== normalized) {
      throw invalid(`mediaType ${JSON.stringify(bodyType)} must be exactly ${JSON.stringify(normalized)}`)
    }
    return normalized
  }
  throw invalid(`unsupported manifest media type ${JSON.stringify(t)}`)
}

/**
 * Validates a pushed manifest or index (see the module comment for the rules) and returns what the AppView needs
 * to write the `io.atcr.manifest` record. `contentType` is the request's Content-Type header (parameters are
 * ignored). Throws `RegistryError` `MANIFEST_INVALID` (413 when too large).
 *
 * Callers reading a request body should stop reading at `MAX_MANIFEST_BYTES + 1` bytes rather than buffer an
 * unbounded body; this function re-checks the size of whatever it is given.
 */
export function parseManifest(bytes: Uint8Array, contentType: string | null): ParsedManifest {
  if (bytes.byteLength > MAX_MANIFEST_BYTES) throw errors.manifestTooLarge(bytes.byteLength, MAX_MANIFEST_BYTES)
  if (bytes.byteLength === 0) throw invalid('manifest is empty')

  let text: string
  try {
    // fatal: refuse invalid UTF-8 instead of silently replacing it; ignoreBOM: keep a BOM so JSON.parse refuses
    // it (RFC 8259 forbids it; Go's encoding/json, used by distribution and clients, rejects it too).
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes)
  } catch {
    throw invalid('manifest is not valid UTF-8')
  }
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (e) {
    throw invalid(`manifest is not valid JSON: ${e instanceof Error ? e.message : String(e)}`)
  }
  if (!isObject(doc)) throw invalid('manifest must be a JSON object')

  if (!has(doc, 'schemaVersion')) throw invalid('schemaVersion is required')
  const sv = doc.schemaVersion
  if (sv === 1) throw invalid('Docker schema 1 manifests are not supported; push schema 2 or OCI')
  if (sv !== 2) throw invalid(`schemaVersion must be 2, got ${JSON.stringify(sv)}`)

  const bodyType = optionalString(doc, 'mediaType', '$')
  const mediaType = resolveMediaType(bodyType, contentType)
  const isOci = mediaType === OCI_MANIFEST || mediaType === OCI_INDEX
  const kind: 'image' | 'index' = mediaType === OCI_MANIFEST || mediaType === DOCKER_MANIFEST ? 'image' : 'index'

  const out: ParsedManifest = {
    mediaType,
    kind,
    schemaVersion: 2,
    layers: [],
    manifests: [],
    raw: bytes,
    digest: digestOf(bytes, 'sha256'),
    size: bytes.byteLength,
  }

  if (kind === 'image') {
    if (has(doc, 'manifests')) throw invalid('an image manifest must not have a manifests field (is this an index?)')
    if (!has(doc, 'config')) throw invalid('config is required')
    out.config = parseDescriptor(doc.config, 'config')
    out.layers = parseDescriptorArray(doc, 'layers')
  } else {
    if (has(doc, 'config') || has(doc, 'layers')) {
      throw invalid(`an index must not have config or layers fields (is this an image manifest?)`)
    }
    out.manifests = parseDescriptorArray(doc, 'manifests', { platform: true })
  }

  if (isOci) {
    if (has(doc, 'subject') && doc.subject !== null) out.subject = parseDescriptor(doc.subject, 'subject')
    const artifactType = optionalMediaType(doc, 'artifactType', '$')
    if (artifactType !== undefined) out.artifactType = artifactType
    const annotations = optionalAnnotations(doc, '$')
    if (annotations !== undefined) out.annotations = annotations
  }
  return out
}

/**
 * Blobs that must exist in blob storage before the manifest is accepted: the config and every layer (spec:
 * a registry MAY refuse with `MANIFEST_BLOB_UNKNOWN`). Non-distributable/foreign layers that carry `urls` are
 * excluded — they live elsewhere and are never pushed (distribution's verifier skips them the same way).
 * Duplicates (the same layer twice) are returned once. Indexes return `[]`.
 */
export function referencedBlobs(m: ParsedManifest): Descriptor[] {
  const seen = new Set<string>()
  const out: Descriptor[] = []
  const push = (d: Descriptor) => {
    if (seen.has(d.digest)) return
    seen.add(d.digest)
    out.push(d)
  }
  if (m.config) push(m.config)
  for (const l of m.layers) {
    if (l.urls && l.urls.length > 0 && NON_DISTRIBUTABLE_LAYER_MEDIA_TYPES.includes(l.mediaType)) continue
    push(l)
  }
  return out
}

/**
 * Child manifests of an index (every `manifests` entry, whatever its media type — unknown child types must not
 * cause an error). These must already be pushed to the same repository. Image manifests return `[]`. The
 * `subject` is deliberately NOT included: the spec says a registry MUST accept a manifest whose subject does
 * not exist yet.
 */
export function referencedManifests(m: ParsedManifest): Descriptor[] {
  const seen = new Set<string>()
  return m.manifests.filter((d) => (seen.has(d.digest) ? false : (seen.add(d.digest), true)))
}

/**
 * For `PUT …/manifests/<digest>`: throws `DIGEST_INVALID` unless the pushed bytes hash to `reference` (as CNCF
 * distribution does). sha512 references are hashed with sha512; note that only sha256 manifests can be stored
 * (the PDS blob CID is sha256), so callers normally require `isSha256(reference)` first.
 */
export function assertManifestDigest(m: ParsedManifest, reference: string): void {
  const { algorithm } = parseDigest(reference)
  const got = algorithm === 'sha256' ? m.digest : digestOf(m.raw, algorithm as DigestAlgorithm)
  if (got !== reference) throw errors.digestInvalid(reference, `manifest content hashes to ${got}`)
}
