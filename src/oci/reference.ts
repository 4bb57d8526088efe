/**
 * Repository names, tags, references and token scopes for THIS registry.
 *
 * Names are `<identity>/<repository>` where `<identity>` is the owner's ATProto handle or DID and `<repository>`
 * is one or more OCI path components (DESIGN §1: `atcr.example/alice.bsky.social/web:1.2`). The repository part
 * is what goes in the `io.atcr.manifest` / `io.atcr.tag` record's `repository` field.
 *
 * Rules (all failures → `RegistryError` `NAME_INVALID`, 400):
 *  - whole name at most 255 characters (`RepositoryNameTotalLengthMax` in distribution/reference, which counts the
 *    path without the registry host; note the spec's warning that many clients cap host + "/" + name at 255);
 *  - `<repository>` matches the distribution-spec `<name>` grammar
 *    `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`: lowercase, no empty components,
 *    no `..`, no leading/trailing separators;
 *  - a handle identity must be a syntactically valid ATProto handle AND lowercase. Lowercase valid handles always
 *    satisfy the OCI component grammar, so such names are plain OCI names any client can use. Uppercase is
 *    refused rather than folded: the OCI grammar has no uppercase, and stock clients refuse it before sending.
 *  - a DID identity must be a valid ATProto DID with method `plc` or `web` (the only methods ATProto supports).
 *
 * DIDs in names. The original ATCR documents `atcr.io/did:plc:xyz123/myapp:latest`. The OCI name grammar has
 * no `:`, and stock clients cannot produce such a reference: docker, containerd and podman all parse image
 * references with the distribution/reference grammar (`regexp.go`: path components are
 * `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`, and the only `:` allowed is a registry port or the tag separator),
 * so `docker pull atcr.io/did:plc:xyz/app` fails with "invalid reference format" before any request is made.
 * We still ACCEPT a DID as the first path segment of API requests: it costs nothing, it keeps compatibility with
 * the original and with hand-written API calls / links, and the routing is unambiguous because a DID never
 * contains `/`. A did:web with a port is spelled with `%3A` (`did:web:localhost%3A2583`); callers must pass the
 * name as it appears in the URL path, not percent-decoded.
 *
 * Tags: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}` (distribution-spec § Pulling manifests) → otherwise `TAG_INVALID`.
 * References: a tag, or — if it contains `:` — a digest (→ `DIGEST_INVALID` when malformed). A tag can never
 * contain `:`, so the split is unambiguous.
 */
import { isValidDid, isValidHandle } from '@atproto/syntax'

import { parseDigest } from './digest.ts'
import { errors } from './errors.ts'

/** distribution/reference `RepositoryNameTotalLengthMax`. */
export const MAX_NAME_LENGTH = 255
export const MAX_TAG_LENGTH = 128

const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*'
const REPOSITORY_RE = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`)
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/
/** ATProto supports did:plc and did:web only. */
const DID_METHOD_RE = /^did:(?:plc|web):/

export type RepositoryName = {
  /** The full name as given, e.g. `alice.test/app/sub`. */
  name: string
  /** The owner: a lowercase handle or a DID, exactly as written in the name. */
  identity: string
  identityKind: 'handle' | 'did'
  /** Everything after the identity, e.g. `app/sub`: the record's `repository` field. */
  repository: string
}

/** True if `repo` (the part after the identity) matches the OCI name grammar. */
export function isValidRepositoryPath(repo: string): boolean {
  return repo.length > 0 && repo.length <= MAX_NAME_LENGTH && REPOSITORY_RE.test(repo)
}

/** Whether `identity` may stand as the first segment of a name; returns the reason when not. */
function identityProblem(identity: string): { kind: 'handle' | 'did' } | { reason: string } {
  if (identity.startsWith('did:')) {
    if (!isValidDid(identity)) return { reason: 'invalid DID' }
    if (!DID_METHOD_RE.test(identity)) return { reason: 'only did:plc and did:web identities are supported' }
    return { kind: 'did' }
  }
  if (identity !== identity.toLowerCase()) return { reason: 'handle must be lowercase' }
  if (!isValidHandle(identity)) return { reason: 'first path component must be an ATProto handle or DID' }
  return { kind: 'handle' }
}

/**
 * Splits and validates `<identity>/<repository>`. Throws `RegistryError` `NAME_INVALID` with a `reason` in the
 * detail. Does no lookup: whether the handle/DID exists is the caller's concern (→ `NAME_UNKNOWN`).
 */
export function parseRepositoryName(name: string): RepositoryName {
  if (typeof name !== 'string' || name.length === 0) throw errors.nameInvalid(String(name ?? ''), 'name is empty')
  if (name.length > MAX_NAME_LENGTH) throw errors.nameInvalid(name, `name is longer than ${MAX_NAME_LENGTH} characters`)
  const slash = name.indexOf('/')
  if (slash <= 0 || slash === name.length - 1) {
    throw errors.nameInvalid(name, 'name must be <handle-or-did>/<repository>')
  }
  const identity = name.slice(0, slash)
  const repository = name.slice(slash + 1)
  const id = identityProblem(identity)
  if ('reason' in id) throw errors.nameInvalid(name, id.reason)
  if (!REPOSITORY_RE.test(repository)) {
    throw errors.nameInvalid(
      name,
      'repository must be lowercase path components of [a-z0-9] joined by ".", "_", "__" or "-", separated by "/"',
    )
  }
  return { name, identity, identityKind: id.kind, repository }
}

/** Non-throwing form of `parseRepositoryName`. */
export function isValidRepositoryName(name: string): boolean {
  try {
    parseRepositoryName(name)
    return true
  } catch {
    return false
  }
}

/** `<identity>/<repository>`; validates the result (throws `NAME_INVALID`). */
export function formatRepositoryName(identity: string, repository: string): string {
  return parseRepositoryName(`${identity}/${repository}`).name
}

/** Tag grammar from the distribution-spec: at most 128 characters, no leading `.` or `-`. */
export function isValidTag(tag: unknown): tag is string {
  return typeof tag === 'string' && TAG_RE.test(tag)
}

/** Returns `tag` or throws `RegistryError` `TAG_INVALID` (400). */
export function parseTag(tag: string): string {
  if (typeof tag !== 'string' || !TAG_RE.test(tag)) {
    const reason =
      typeof tag !== 'string' || tag.length === 0
        ? 'tag is empty'
        : tag.length > MAX_TAG_LENGTH
          ? `tag is longer than ${MAX_TAG_LENGTH} characters`
          : 'tag must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}'
    throw errors.tagInvalid(String(tag), reason)
  }
  return tag
}

export type Reference = { kind: 'tag'; tag: string } | { kind: 'digest'; digest: string }

/**
 * The `<reference>` of `/v2/<name>/manifests/<reference>`: a digest if it contains `:` (tags cannot), else a tag.
 * Throws `DIGEST_INVALID` or `TAG_INVALID`. (For GET/HEAD a handler may prefer to answer 404 MANIFEST_UNKNOWN
 * for a reference that cannot exist; the conformance suite accepts 400 or 404 there.)
 */
export function parseReference(ref: string): Reference {
  if (typeof ref === 'string' && ref.includes(':')) return { kind: 'digest', digest: parseDigest(ref).digest }
  return { kind: 'tag', tag: parseTag(ref) }
}

export type Scope = {
  /** Resource type, e.g. `repository` or `registry`. A deprecated class suffix (`repository(plugin)`) is dropped. */
  type: string
  /** Resource name, e.g. `alice.test/app`, `did:plc:abc/app` or `catalog`. Not validated here. */
  name: string
  /** De-duplicated actions in order of first appearance, e.g. `['pull','push']`, or `['*']`. */
  actions: string[]
}

const SCOPE_TYPE_RE = /^([a-z0-9]+)(?:\([a-z0-9]+\))?$/
const SCOPE_ACTION_RE = /^(?:[a-z]+|\*)$/
const SCOPE_NAME_RE = /^[^\s:,][^\s,]*$/

/**
 * Parses docker token scopes (`docs/content/spec/auth/scope.md`): `type:name:action[,action]*`, several separated
 * by spaces (POST form) or given as several `scope` parameters (pass an array).
 *
 * The name is everything between the FIRST `:` (after the type, which has no `:`) and the LAST `:` (before the
 * actions, which have no `:`), so names holding colons — a `host:port/` prefix, which the scope grammar allows, or
 * our DIDs (`repository:did:plc:abc/app:pull,push`) — come out whole.
 *
 * Invalid entries are IGNORED, not rejected: an unparseable scope simply grants nothing, and the registry answers
 * 401/403 for the operation that needed it. Failing the whole token request instead would break `docker login`
 * for clients that send extra scopes we do not understand. Unknown action words are kept (the caller decides what
 * to grant); empty actions are dropped; a scope left with no actions is dropped. The deprecated resource class
 * (`repository(plugin)`) is ignored, as distribution now treats it as equal to `repository`.
 */
export function parseScope(scope: string | readonly string[] | null | undefined): Scope[] {
  const inputs = scope == null ? [] : typeof scope === 'string' ? [scope] : scope
  const out: Scope[] = []
  for (const input of inputs) {
    for (const part of input.split(/\s+/)) {
      if (!part) continue
      const first = part.indexOf(':')
      const last = part.lastIndexOf(':')
      if (first <= 0 || last === first) continue
      const typeMatch = SCOPE_TYPE_RE.exec(part.slice(0, first))
      const name = part.slice(first + 1, last)
      if (!typeMatch || !SCOPE_NAME_RE.test(name)) continue
      const actions = [...new Set(part.slice(last + 1).split(',').filter((a) => SCOPE_ACTION_RE.test(a)))]
      if (actions.length === 0) continue
      out.push({ type: typeMatch[1]!, name, actions })
    }
  }
  return out
}

/** `type:name:a,b` — the inverse of one `parseScope` entry (used in `WWW-Authenticate` challenges). */
export function formatScope(s: Scope): string {
  return `${s.type}:${s.name}:${s.actions.join(',')}`
}
