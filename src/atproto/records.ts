/**
 * TypeScript shapes of the `io.atcr.*` records and of the hold's XRPC bodies, written by hand to match
 * `lexicons/io/atcr/**` (the lexicon JSON is the source of truth; change both together).
 *
 * Records are typed in their JSON form, the form they have on the wire (`getRecord`, `listRecords`,
 * Jetstream) and the form `validateRecord` returns for JSON input. Blob fields also accept
 * `BlobRef` instances, the form `@atproto/repo` reads and writes.
 */
import type { BlobRef } from '@atproto/lexicon'

/** Collection / method NSIDs of the original ATCR, in one place. */
export const NSID = {
  manifest: 'io.atcr.manifest',
  tag: 'io.atcr.tag',
  sailorProfile: 'io.atcr.sailor.profile',
  sailorStar: 'io.atcr.sailor.star',
  sailorWebhook: 'io.atcr.sailor.webhook',
  repoPage: 'io.atcr.repo.page',
  legacyHold: 'io.atcr.hold',
  captain: 'io.atcr.hold.captain',
  crew: 'io.atcr.hold.crew',
  layer: 'io.atcr.hold.layer',
  stats: 'io.atcr.hold.stats',
  scan: 'io.atcr.hold.scan',
  holdWebhook: 'io.atcr.hold.webhook',
  initiateUpload: 'io.atcr.hold.initiateUpload',
  getPartUploadUrl: 'io.atcr.hold.getPartUploadUrl',
  uploadPart: 'io.atcr.hold.uploadPart',
  completeUpload: 'io.atcr.hold.completeUpload',
  abortUpload: 'io.atcr.hold.abortUpload',
  notifyManifest: 'io.atcr.hold.notifyManifest',
  requestCrew: 'io.atcr.hold.requestCrew',
  getQuota: 'io.atcr.hold.getQuota',
  listTiers: 'io.atcr.hold.listTiers',
  exportUserData: 'io.atcr.hold.exportUserData',
  updateCrewTier: 'io.atcr.hold.updateCrewTier',
  subscribeScanJobs: 'io.atcr.hold.subscribeScanJobs',
} as const

/** A blob in JSON form: `{$type: 'blob', ref: {$link: cid}, mimeType, size}` (or the legacy `{cid, mimeType}`). */
export type JsonBlobRef =
  | { $type: 'blob'; ref: { $link: string }; mimeType: string; size: number }
  | { cid: string; mimeType: string }

/** A blob field: JSON form on the wire, `BlobRef` when read through `@atproto/repo`. */
export type BlobField = JsonBlobRef | BlobRef

/** OCI annotations: string keys to string values (lexicon type `unknown`). */
export type Annotations = Record<string, string>

// ---------------------------------------------------------------------------------------------
// Records in the user's repo

/** `io.atcr.manifest#blobReference`: an OCI descriptor of a config, layer or subject blob. */
export interface BlobReference {
  mediaType: string
  size: number
  digest: string
  urls?: string[]
  annotations?: Annotations
}

/** `io.atcr.manifest#platform` (OCI `os.version` / `os.features` are spelled `osVersion` / `osFeatures`). */
export interface Platform {
  architecture: string
  os: string
  osVersion?: string
  osFeatures?: string[]
  variant?: string
}

/** `io.atcr.manifest#manifestReference`: an OCI descriptor of a child manifest of an index. */
export interface ManifestReference {
  mediaType: string
  size: number
  digest: string
  platform?: Platform
  annotations?: Annotations
}

/** `io.atcr.manifest` (key: TID). */
export interface ManifestRecord {
  $type?: 'io.atcr.manifest'
  repository: string
  digest: string
  mediaType: string
  schemaVersion: number
  createdAt: string
  config?: BlobReference
  layers?: BlobReference[]
  manifests?: ManifestReference[]
  subject?: BlobReference
  holdDid?: string
  /** @deprecated read only when `holdDid` is absent */
  holdEndpoint?: string
  annotations?: Annotations
  manifestBlob?: BlobField
}

/** `io.atcr.tag` (key: derived from repository + tag). */
export interface TagRecord {
  $type?: 'io.atcr.tag'
  repository: string
  tag: string
  /** AT-URI of the `io.atcr.manifest` record. */
  manifest?: string
  /** @deprecated present on old records without `manifest` */
  manifestDigest?: string
  createdAt: string
  updatedAt?: string
}

/** `io.atcr.sailor.profile` (key: `self`). */
export interface SailorProfileRecord {
  $type?: 'io.atcr.sailor.profile'
  /** Hold DID for new pushes; absent or null = no personal default. */
  defaultHold?: string | null
  autoRemoveUntagged?: boolean
  createdAt: string
  updatedAt?: string
}

/** `io.atcr.sailor.star` (key: any). */
export interface SailorStarRecord {
  $type?: 'io.atcr.sailor.star'
  /** AT-URI of the starred `io.atcr.repo.page`. */
  subject: string
  createdAt: string
}

/** `io.atcr.sailor.webhook` (key: TID): the public half of a webhook. */
export interface SailorWebhookRecord {
  $type?: 'io.atcr.sailor.webhook'
  holdDid: string
  /** Bit set, see {@link WEBHOOK_TRIGGER}. */
  triggers: number
  privateCid: string
  createdAt: string
  updatedAt?: string
}

/** Webhook trigger bits (`triggers` of the webhook records). */
export const WEBHOOK_TRIGGER = {
  scanFirst: 0x01,
  scanAll: 0x02,
  scanChanged: 0x04,
  push: 0x08,
} as const

/** `io.atcr.repo.page` (key: the repository name). */
export interface RepoPageRecord {
  $type?: 'io.atcr.repo.page'
  repository: string
  description?: string
  avatar?: BlobField
  createdAt: string
  updatedAt: string
}

/** `io.atcr.hold` (legacy, key: any): a user's pointer to a hold. */
export interface LegacyHoldRecord {
  $type?: 'io.atcr.hold'
  endpoint: string
  owner: string
  public?: boolean
  createdAt: string
}

// ---------------------------------------------------------------------------------------------
// Records in the hold's repo

/** `io.atcr.hold.captain` (key: `self`). */
export interface CaptainRecord {
  $type?: 'io.atcr.hold.captain'
  owner: string
  public: boolean
  allowAllCrew: boolean
  enableBlueskyPosts: boolean
  deployedAt: string
  region?: string
  provider?: string
  successor?: string
}

/** Roles the original knows for crew members (open set). */
export type CrewRole = 'owner' | 'admin' | 'write' | 'read' | (string & {})

/** `io.atcr.hold.crew` (key: any, conventionally the member DID). */
export interface CrewRecord {
  $type?: 'io.atcr.hold.crew'
  member: string
  role: CrewRole
  /** e.g. `blob:read`, `blob:write` */
  permissions: string[]
  tier?: string
  addedAt: string
}

/** `io.atcr.hold.layer` (key: TID). */
export interface LayerRecord {
  $type?: 'io.atcr.hold.layer'
  digest: string
  size: number
  mediaType: string
  /** AT-URI of the `io.atcr.manifest` record. */
  manifest: string
  userDid: string
  createdAt: string
}

/** `io.atcr.hold.stats` (key: base32(sha256(ownerDid + '/' + repository)[:16])). */
export interface StatsRecord {
  $type?: 'io.atcr.hold.stats'
  ownerDid: string
  repository: string
  pullCount: number
  pushCount: number
  lastPull?: string
  lastPush?: string
  updatedAt: string
}

/** `io.atcr.hold.scan` (key: manifest digest hex). */
export interface ScanRecord {
  $type?: 'io.atcr.hold.scan'
  manifest: string
  repository: string
  userDid: string
  critical: number
  high: number
  medium: number
  low: number
  total: number
  scannerVersion: string
  scannedAt: string
  status?: 'skipped' | 'failed' | (string & {})
  sbomBlob?: BlobField
  vulnReportBlob?: BlobField
}

/** `io.atcr.hold.webhook` (key: TID): the private half of a webhook; never in the public repo. */
export interface HoldWebhookRecord {
  $type?: 'io.atcr.hold.webhook'
  url: string
  secret?: string
  triggers: number
  userDid?: string
  createdAt: string
  updatedAt?: string
}

/** Collection NSID → record type, for the typed overload of `validateRecord`. */
export interface RecordTypes {
  'io.atcr.manifest': ManifestRecord
  'io.atcr.tag': TagRecord
  'io.atcr.sailor.profile': SailorProfileRecord
  'io.atcr.sailor.star': SailorStarRecord
  'io.atcr.sailor.webhook': SailorWebhookRecord
  'io.atcr.repo.page': RepoPageRecord
  'io.atcr.hold': LegacyHoldRecord
  'io.atcr.hold.captain': CaptainRecord
  'io.atcr.hold.crew': CrewRecord
  'io.atcr.hold.layer': LayerRecord
  'io.atcr.hold.stats': StatsRecord
  'io.atcr.hold.scan': ScanRecord
  'io.atcr.hold.webhook': HoldWebhookRecord
}

export type RecordCollection = keyof RecordTypes

// ---------------------------------------------------------------------------------------------
// XRPC bodies of the hold's methods

export interface InitiateUploadInput {
  digest: string
}
export interface InitiateUploadOutput {
  uploadId: string
}

export interface GetPartUploadUrlInput {
  uploadId: string
  partNumber: number
}
export interface GetPartUploadUrlOutput {
  url: string
  /** Defaults to PUT. */
  method?: string
  headers?: Record<string, string>
}

export interface UploadPartParams {
  uploadId: string
  partNumber: number
}
export interface UploadPartOutput {
  etag: string
}

/** `io.atcr.hold.completeUpload#partInfo` */
export interface PartInfo {
  partNumber: number
  etag: string
}
export interface CompleteUploadInput {
  uploadId: string
  digest: string
  parts: PartInfo[]
}
export interface CompleteUploadOutput {
  status: 'completed'
  digest: string
}

export interface AbortUploadInput {
  uploadId: string
}
export interface AbortUploadOutput {
  status: 'aborted'
}

/** `io.atcr.hold.notifyManifest#manifestInfo` */
export interface ManifestInfo {
  mediaType: string
  config?: BlobReference
  layers?: BlobReference[]
  manifests?: ManifestReference[]
}
export interface NotifyManifestInput {
  repository: string
  tag?: string
  userDid: string
  manifestDigest: string
  manifest: ManifestInfo
  /** Defaults to `push`. */
  operation?: 'push' | 'pull' | (string & {})
}
export interface NotifyManifestOutput {
  success: boolean
  operation: string
  statsUpdated: boolean
  layersCreated?: number
  postCreated?: boolean
  postUri?: string
}

export interface RequestCrewInput {
  /** Defaults to `member`. */
  role?: string
  /** Defaults to `['blob:read', 'blob:write']`. */
  permissions?: string[]
}
export interface RequestCrewOutput {
  status: 'created' | 'already_member' | (string & {})
  uri?: string
  cid?: string
  message?: string
}

export interface GetQuotaParams {
  userDid: string
}
export interface GetQuotaOutput {
  userDid: string
  uniqueBlobs: number
  totalSize: number
  /** Absent = unlimited. */
  limit?: number
  tier?: string
}

/** `io.atcr.hold.listTiers#tierInfo` */
export interface TierInfo {
  name: string
  quotaBytes: number
  quotaFormatted: string
  scanOnPush: boolean
}
export interface ListTiersOutput {
  tiers: TierInfo[]
}

export interface UpdateCrewTierInput {
  userDid: string
  /** Index into the hold's tier list, from 0. */
  tierRank: number
}
export interface UpdateCrewTierOutput {
  tierName: string
}

export interface ExportUserDataOutput {
  exportedAt: string
  holdDid: string
  userDid: string
  isCaptain: boolean
  crewRecord?: { role?: string; permissions?: string[]; tier?: string; addedAt?: string }
  layerRecords: Array<{
    uri?: string
    digest?: string
    size?: number
    mediaType?: string
    manifest?: string
    createdAt?: string
  }>
  statsRecords: Array<{
    uri?: string
    repository?: string
    pullCount?: number
    pushCount?: number
    lastPull?: string
    lastPush?: string
    updatedAt?: string
  }>
  blueskyPosts: Array<{ uri?: string; text?: string; createdAt?: string }>
}

/** `io.atcr.hold.subscribeScanJobs#scanJob` (hold → scanner). */
export interface ScanJobMessage {
  type: 'scan_job'
  seq: number
  digest: string
  repository: string
  tag?: string
  userDid: string
  holdDid: string
  holdEndpoint: string
  priority?: number
}

/** `io.atcr.hold.subscribeScanJobs#scanResult` (scanner → hold). */
export interface ScanResultMessage {
  type: 'scan_result'
  seq: number
  digest: string
  status?: 'completed' | 'skipped' | 'failed' | (string & {})
  error?: string
  scannerVersion?: string
  critical?: number
  high?: number
  medium?: number
  low?: number
  total?: number
  sbom?: unknown
  vulnReport?: unknown
}

// ---------------------------------------------------------------------------------------------
// Record keys atcr writes (the AppView writes them; a hold names a pushed manifest by them)

/**
 * Record keys are derived from the repository, so a digest or tag resolves with one getRecord and the same
 * manifest pushed to two repositories makes two records: `/` in the repository becomes `~`, and `:` separates
 * the tag or the digest's hex. Neither `~` nor `:` can occur in a repository name or tag, so both mappings are
 * one-to-one (and the results are valid record keys).
 */
const repoKey = (repository: string) => repository.replaceAll('/', '~')

export function manifestRkey(repository: string, digest: string): string {
  return `${repoKey(repository)}:${digest.slice(digest.indexOf(':') + 1)}`
}

export function tagRkey(repository: string, tag: string): string {
  return `${repoKey(repository)}:${tag}`
}
