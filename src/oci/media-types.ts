/**
 * Media types this registry knows about (image-spec `media-types.md`, Docker `manifest-v2-2.md`).
 *
 * Manifests accepted at `PUT /v2/<name>/manifests/<ref>` are the four schema-2 types: OCI image manifest and
 * index, Docker image manifest v2 and manifest list. Docker schema 1 types are recognised only so that they can
 * be refused with a clear `MANIFEST_INVALID` (CNCF distribution v3 dropped schema 1 too; we have no conversion).
 * Blob media types (configs, layers) are listed for callers that want to label things; a registry MUST NOT
 * refuse descriptors with unknown blob media types (image-spec manifest.md), so nothing here rejects them.
 */

// OCI image-spec
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json'
export const OCI_DESCRIPTOR = 'application/vnd.oci.descriptor.v1+json'
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar'
export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip'
export const OCI_LAYER_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd'
/** Deprecated non-distributable layers (image-spec layer.md): may carry `urls` and need not be pushed. */
export const OCI_LAYER_NONDISTRIBUTABLE = 'application/vnd.oci.image.layer.nondistributable.v1.tar'
export const OCI_LAYER_NONDISTRIBUTABLE_GZIP = 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip'
export const OCI_LAYER_NONDISTRIBUTABLE_ZSTD = 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd'
/** Empty descriptor for artifacts with no config/layers: content `{}`, size 2. */
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json'
/** Digest of the 2-byte `{}` blob that OCI_EMPTY descriptors point to (image-spec manifest.md). */
export const OCI_EMPTY_DIGEST = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a'

// Docker image manifest v2, schema 2
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json'
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json'
export const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip'
/** "a gzipped tar that should never be pushed": carries `urls`, lives elsewhere (Windows base layers). */
export const DOCKER_FOREIGN_LAYER = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip'
export const DOCKER_PLUGIN_CONFIG = 'application/vnd.docker.plugin.v1+json'

// Docker schema 1 (refused)
export const DOCKER_SCHEMA1_MANIFEST = 'application/vnd.docker.distribution.manifest.v1+json'
export const DOCKER_SCHEMA1_SIGNED_MANIFEST = 'application/vnd.docker.distribution.manifest.v1+prettyjws'

/** Image manifests (one config + layers). */
export const IMAGE_MANIFEST_MEDIA_TYPES: readonly string[] = Object.freeze([OCI_MANIFEST, DOCKER_MANIFEST])
/** Indexes (list of child manifests, usually per platform). */
export const INDEX_MEDIA_TYPES: readonly string[] = Object.freeze([OCI_INDEX, DOCKER_MANIFEST_LIST])
/** Every manifest type accepted on push and served on pull; also what we list in an `Accept` we send. */
export const MANIFEST_MEDIA_TYPES: readonly string[] = Object.freeze([...IMAGE_MANIFEST_MEDIA_TYPES, ...INDEX_MEDIA_TYPES])
export const SCHEMA1_MEDIA_TYPES: readonly string[] = Object.freeze([DOCKER_SCHEMA1_MANIFEST, DOCKER_SCHEMA1_SIGNED_MANIFEST])
/** Layer types whose descriptors may point elsewhere via `urls` instead of being pushed. */
export const NON_DISTRIBUTABLE_LAYER_MEDIA_TYPES: readonly string[] = Object.freeze([
  OCI_LAYER_NONDISTRIBUTABLE,
  OCI_LAYER_NONDISTRIBUTABLE_GZIP,
  OCI_LAYER_NONDISTRIBUTABLE_ZSTD,
  DOCKER_FOREIGN_LAYER,
])

export type ImageManifestMediaType = typeof OCI_MANIFEST | typeof DOCKER_MANIFEST
export type IndexMediaType = typeof OCI_INDEX | typeof DOCKER_MANIFEST_LIST
export type ManifestMediaType = ImageManifestMediaType | IndexMediaType

/**
 * The bare `type/subtype` of a header value: parameters (`; charset=utf-8`) dropped, whitespace trimmed,
 * lowercased (media types are case-insensitive, RFC 6838 §4.2). `null`/empty → `''`.
 */
export function normalizeMediaType(value: string | null | undefined): string {
  if (!value) return ''
  const semi = value.indexOf(';')
  return (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase()
}

/** True for an image manifest type (OCI manifest, Docker v2 manifest). Parameters are ignored. */
export function isImageManifestMediaType(t: string | null | undefined): t is ImageManifestMediaType {
  const n = normalizeMediaType(t)
  return n === OCI_MANIFEST || n === DOCKER_MANIFEST
}

/** True for an index type (OCI index, Docker manifest list). Parameters are ignored. */
export function isIndexMediaType(t: string | null | undefined): t is IndexMediaType {
  const n = normalizeMediaType(t)
  return n === OCI_INDEX || n === DOCKER_MANIFEST_LIST
}

/**
 * True for any type this registry accepts at the manifests endpoint: an image manifest OR an index. (The
 * distribution-spec calls both "manifests"; use `isImageManifestMediaType` for the narrower sense.)
 */
export function isManifestMediaType(t: string | null | undefined): t is ManifestMediaType {
  return isImageManifestMediaType(t) || isIndexMediaType(t)
}

/** True for Docker schema 1 types, which are recognised only to be refused. */
export function isSchema1MediaType(t: string | null | undefined): boolean {
  const n = normalizeMediaType(t)
  return n === DOCKER_SCHEMA1_MANIFEST || n === DOCKER_SCHEMA1_SIGNED_MANIFEST
}

/** True for OCI (as opposed to Docker) manifest/index types. */
export function isOciManifestMediaType(t: string | null | undefined): boolean {
  const n = normalizeMediaType(t)
  return n === OCI_MANIFEST || n === OCI_INDEX
}

const RESTRICTED_NAME = '[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}'
const MEDIA_TYPE_RE = new RegExp(`^${RESTRICTED_NAME}/${RESTRICTED_NAME}$`)

/**
 * RFC 6838 §4.2 shape: `type/subtype`, each a restricted-name of at most 127 characters, no parameters. The
 * image-spec requires descriptor `mediaType` and `artifactType` values to comply; content is otherwise opaque.
 */
export function isValidMediaTypeSyntax(t: unknown): t is string {
  return typeof t === 'string' && MEDIA_TYPE_RE.test(t)
}
