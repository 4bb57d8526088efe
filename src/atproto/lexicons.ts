/**
 * The `io.atcr.*` lexicons (`lexicons/io/atcr/**`) loaded into one `@atproto/lexicon` `Lexicons`,
 * plus validation helpers for records and for the hold's XRPC methods.
 *
 * The JSON files are imported statically (not read from disk at run time) so that they are bundled
 * into `bun build --compile` executables. Adding a lexicon = adding a file and one import below.
 */
import {
  BlobRef,
  InvalidLexiconError,
  jsonToLex,
  LexiconDefNotFoundError,
  Lexicons,
  lexToJson,
  parseLexiconDoc,
  ValidationError,
  type LexiconDoc,
  type LexXrpcParameters,
} from '@atproto/lexicon'
import { isValidNsid, isValidRecordKey, isValidTid } from '@atproto/syntax'
import { CID } from 'multiformats/cid'

import legacyHold from '../../lexicons/io/atcr/hold.json' with { type: 'json' }
import abortUpload from '../../lexicons/io/atcr/hold/abortUpload.json' with { type: 'json' }
import captain from '../../lexicons/io/atcr/hold/captain.json' with { type: 'json' }
import completeUpload from '../../lexicons/io/atcr/hold/completeUpload.json' with { type: 'json' }
import crew from '../../lexicons/io/atcr/hold/crew.json' with { type: 'json' }
import exportUserData from '../../lexicons/io/atcr/hold/exportUserData.json' with { type: 'json' }
import getPartUploadUrl from '../../lexicons/io/atcr/hold/getPartUploadUrl.json' with { type: 'json' }
import getQuota from '../../lexicons/io/atcr/hold/getQuota.json' with { type: 'json' }
import initiateUpload from '../../lexicons/io/atcr/hold/initiateUpload.json' with { type: 'json' }
import layer from '../../lexicons/io/atcr/hold/layer.json' with { type: 'json' }
import listTiers from '../../lexicons/io/atcr/hold/listTiers.json' with { type: 'json' }
import notifyManifest from '../../lexicons/io/atcr/hold/notifyManifest.json' with { type: 'json' }
import requestCrew from '../../lexicons/io/atcr/hold/requestCrew.json' with { type: 'json' }
import scan from '../../lexicons/io/atcr/hold/scan.json' with { type: 'json' }
import stats from '../../lexicons/io/atcr/hold/stats.json' with { type: 'json' }
import subscribeScanJobs from '../../lexicons/io/atcr/hold/subscribeScanJobs.json' with { type: 'json' }
import updateCrewTier from '../../lexicons/io/atcr/hold/updateCrewTier.json' with { type: 'json' }
import uploadPart from '../../lexicons/io/atcr/hold/uploadPart.json' with { type: 'json' }
import holdWebhook from '../../lexicons/io/atcr/hold/webhook.json' with { type: 'json' }
import manifest from '../../lexicons/io/atcr/manifest.json' with { type: 'json' }
import repoPage from '../../lexicons/io/atcr/repo/page.json' with { type: 'json' }
import sailorProfile from '../../lexicons/io/atcr/sailor/profile.json' with { type: 'json' }
import sailorStar from '../../lexicons/io/atcr/sailor/star.json' with { type: 'json' }
import sailorWebhook from '../../lexicons/io/atcr/sailor/webhook.json' with { type: 'json' }
import tag from '../../lexicons/io/atcr/tag.json' with { type: 'json' }

import type { RecordTypes } from './records.ts'
import { XrpcError } from './xrpc-error.ts'

const RAW_DOCS: unknown[] = [
  // records in the user's repo
  manifest,
  tag,
  sailorProfile,
  sailorStar,
  sailorWebhook,
  repoPage,
  legacyHold,
  // records in the hold's repo
  captain,
  crew,
  layer,
  stats,
  scan,
  holdWebhook,
  // hold XRPC methods
  initiateUpload,
  getPartUploadUrl,
  uploadPart,
  completeUpload,
  abortUpload,
  notifyManifest,
  requestCrew,
  getQuota,
  listTiers,
  exportUserData,
  updateCrewTier,
  subscribeScanJobs,
]

/**
 * Every lexicon document, exactly as in the JSON files (checked against the lexicon schema at load,
 * so a malformed file fails at start). Suitable for publishing as `com.atproto.lexicon.schema` records.
 */
export const LEXICON_DOCS: readonly LexiconDoc[] = Object.freeze(RAW_DOCS.map((doc) => parseLexiconDoc(doc)))

/**
 * The compiled lexicons. `Lexicons.add` rewrites `ref`s inside the documents it is given, so it gets
 * deep copies and {@link LEXICON_DOCS} keeps the files' original form.
 */
export const lexicons: Lexicons = new Lexicons(LEXICON_DOCS.map((doc) => structuredClone(doc)))

/** NSIDs of all `record` lexicons. */
export const RECORD_COLLECTIONS: readonly string[] = Object.freeze(
  LEXICON_DOCS.filter((doc) => doc.defs.main?.type === 'record').map((doc) => doc.id),
)

/** Thrown by {@link validateRecord}. */
export class RecordValidationError extends Error {
  override readonly name = 'RecordValidationError'
  constructor(
    readonly collection: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`invalid ${collection} record: ${reason}`, options)
  }
}

/**
 * Validates `record` as a record of `collection` and returns it.
 *
 * - `io.atcr.*` collections are checked against their lexicon (required fields, types, lengths,
 *   formats such as did / at-uri / datetime, `const` values). A missing `$type` is filled in; a
 *   different `$type` is an error. Defaults declared in the lexicon are applied to the result.
 *   Unknown `io.atcr.*` collections and non-record lexicons (XRPC methods) are errors.
 * - Other collections (`app.bsky.*`, `com.atproto.*`, …) have no lexicon here: the record is returned
 *   unchanged if its `$type` equals `collection`, otherwise it is an error. Nothing else is checked.
 * - Records may be given in JSON form (blobs as `{$type:'blob', ref:{$link}}`, as read from XRPC/Jetstream)
 *   or in lex form (`BlobRef` / `CID` instances, as read through `@atproto/repo`); the result has the
 *   same form as the input.
 * - With `rkey`, also checks the record key against the lexicon's key type (`tid`, `literal:self`, `any`).
 *
 * @throws RecordValidationError with a message naming the collection and the offending field.
 */
export function validateRecord<C extends keyof RecordTypes>(collection: C, record: unknown, rkey?: string): RecordTypes[C]
export function validateRecord(collection: string, record: unknown, rkey?: string): Record<string, unknown>
export function validateRecord(collection: string, record: unknown, rkey?: string): Record<string, unknown> {
  if (!isPlainObject(record)) throw new RecordValidationError(collection, 'record must be an object')
  const type = record.$type
  if (type !== undefined && type !== collection) {
    throw new RecordValidationError(collection, `$type must be "${collection}", got ${JSON.stringify(type)}`)
  }

  if (!collection.startsWith('io.atcr.')) {
    if (type !== collection) {
      throw new RecordValidationError(collection, `$type must be "${collection}" (no lexicon here for this collection)`)
    }
    return record
  }

  const def = lexicons.getDef(collection)
  if (!def) throw new RecordValidationError(collection, 'unknown collection (no lexicon)')
  if (def.type !== 'record') throw new RecordValidationError(collection, `${collection} is a ${def.type}, not a record`)
  if (rkey !== undefined) checkRecordKey(collection, def.key, rkey)

  const typed = type === undefined ? { $type: collection, ...record } : record
  const lexForm = containsLexValues(typed)
  try {
    const validated = lexicons.assertValidRecord(collection, lexForm ? typed : jsonToLex(typed))
    return (lexForm ? validated : lexToJson(validated)) as Record<string, unknown>
  } catch (err) {
    if (err instanceof ValidationError || err instanceof InvalidLexiconError || err instanceof LexiconDefNotFoundError) {
      throw new RecordValidationError(collection, err.message, { cause: err })
    }
    // e.g. a malformed $link inside a blob
    if (err instanceof Error) throw new RecordValidationError(collection, err.message, { cause: err })
    throw err
  }
}

function checkRecordKey(collection: string, keyType: string | undefined, rkey: string): void {
  const fail = (why: string) => new RecordValidationError(collection, `record key ${JSON.stringify(rkey)} ${why}`)
  if (!isValidRecordKey(rkey)) throw fail('is not a valid record key')
  if (keyType === undefined || keyType === 'any') return
  if (keyType === 'tid') {
    if (!isValidTid(rkey)) throw fail('must be a TID')
  } else if (keyType === 'nsid') {
    if (!isValidNsid(rkey)) throw fail('must be an NSID')
  } else if (keyType.startsWith('literal:')) {
    const literal = keyType.slice('literal:'.length)
    if (rkey !== literal) throw fail(`must be "${literal}"`)
  }
}

// ---------------------------------------------------------------------------------------------
// XRPC

export type XrpcValidationTarget = 'params' | 'input' | 'output' | 'message'

/**
 * Thrown by the XRPC helpers when a value does not match a method's lexicon. Params and input failures
 * are the caller's fault (400 InvalidRequest); output and message failures are the server's
 * (500 InvalidResponse). It is an {@link XrpcError}, so handlers can let it propagate.
 */
export class XrpcValidationError extends XrpcError {
  override readonly name = 'XrpcValidationError'
  constructor(
    readonly nsid: string,
    readonly target: XrpcValidationTarget,
    reason: string,
    options?: { cause?: unknown },
  ) {
    const clientSide = target === 'params' || target === 'input'
    super(clientSide ? 400 : 500, clientSide ? 'InvalidRequest' : 'InvalidResponse', `${nsid} ${target}: ${reason}`)
    if (options?.cause !== undefined) this.cause = options.cause
  }
}

/** Asserts `nsid` names one of our XRPC methods of the given kinds; an unknown method is a programming error. */
function methodDef(nsid: string, kinds: readonly ('query' | 'procedure' | 'subscription')[]) {
  const def = lexicons.getDef(nsid)
  if (!def) throw new Error(`no lexicon for XRPC method ${nsid}`)
  if (!(kinds as readonly string[]).includes(def.type)) {
    throw new Error(`${nsid} is a ${def.type}, expected ${kinds.join(' or ')}`)
  }
  return def as Extract<typeof def, { type: 'query' | 'procedure' | 'subscription' }>
}

function wrap<T>(nsid: string, target: XrpcValidationTarget, fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    if (err instanceof ValidationError) throw new XrpcValidationError(nsid, target, err.message, { cause: err })
    throw err
  }
}

/**
 * Validates a procedure's JSON input body against its lexicon and returns it with lexicon defaults
 * applied (e.g. notifyManifest `operation` = "push"). For procedures without an input schema
 * (uploadPart's raw bytes) it returns `input` unchanged.
 *
 * @throws XrpcValidationError (400 InvalidRequest)
 */
export function assertXrpcInput<T = Record<string, unknown>>(nsid: string, input: unknown): T {
  const def = methodDef(nsid, ['procedure'])
  if (!('input' in def) || !def.input?.schema) return input as T
  return wrap(nsid, 'input', () => lexicons.assertValidXrpcInput(nsid, input)) as T
}

/**
 * Validates a method's query parameters and returns them decoded and with defaults applied.
 * `params` may be a `URLSearchParams` or an object of raw values: strings are converted according to
 * the lexicon (integer, boolean; arrays from repeated keys), so a request's query can be passed as is.
 * Parameters not declared in the lexicon are passed through untouched.
 *
 * @throws XrpcValidationError (400 InvalidRequest)
 */
export function assertXrpcParams<T = Record<string, unknown>>(
  nsid: string,
  params: URLSearchParams | Record<string, unknown> | undefined,
): T {
  const def = methodDef(nsid, ['query', 'procedure', 'subscription'])
  const decoded = decodeParams(def.parameters, params)
  if (!def.parameters) return decoded as T
  return wrap(nsid, 'params', () => lexicons.assertValidXrpcParams(nsid, decoded) ?? decoded) as T
}

/**
 * Validates a query's or procedure's JSON output (a hold response, or our own before sending it).
 *
 * @throws XrpcValidationError (500 InvalidResponse)
 */
export function assertXrpcOutput<T = Record<string, unknown>>(nsid: string, output: unknown): T {
  const def = methodDef(nsid, ['query', 'procedure'])
  if (!('output' in def) || !def.output?.schema) return output as T
  return wrap(nsid, 'output', () => lexicons.assertValidXrpcOutput(nsid, output)) as T
}

function decodeParams(
  def: LexXrpcParameters | undefined,
  params: URLSearchParams | Record<string, unknown> | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (params instanceof URLSearchParams) {
    for (const key of new Set(params.keys())) {
      const all = params.getAll(key)
      out[key] = def?.properties[key]?.type === 'array' ? all : all[0]
    }
  } else if (params) {
    Object.assign(out, params)
  }
  if (!def) return out
  for (const [key, prop] of Object.entries(def.properties)) {
    const raw = out[key]
    if (raw === undefined) continue
    if (prop.type === 'array') {
      const items = Array.isArray(raw) ? raw : [raw]
      out[key] = items.map((item) => decodeScalar(prop.items.type, item))
    } else {
      out[key] = decodeScalar(prop.type, raw)
    }
  }
  return out
}

/** String → typed value for a param; anything that does not convert cleanly is left for the validator to reject. */
function decodeScalar(type: string, value: unknown): unknown {
  if (typeof value !== 'string') return value
  if (type === 'integer' && /^-?\d+$/.test(value)) return Number(value)
  if (type === 'boolean') {
    if (value === 'true') return true
    if (value === 'false') return false
  }
  return value
}

// ---------------------------------------------------------------------------------------------

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** True if `value` holds lex-form values (BlobRef, CID, bytes) rather than their JSON encodings. */
function containsLexValues(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false
  if (value instanceof BlobRef || value instanceof Uint8Array || CID.asCID(value)) return true
  if (Array.isArray(value)) return value.some(containsLexValues)
  return Object.values(value).some(containsLexValues)
}
