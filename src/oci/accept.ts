/**
 * `Accept` negotiation for `GET`/`HEAD /v2/<name>/manifests/<reference>`.
 *
 * We store exactly one manifest per digest and never convert, so negotiation is a yes/no question: may the stored
 * bytes be served to this client?
 *
 * What CNCF distribution v3 does (`registry/handlers/manifests.go` GetManifest): it splits every `Accept` header on
 * `,`, ignores q-values, and then
 *   - OCI image manifest: served only if the client listed `application/vnd.oci.image.manifest.v1+json`, else 404
 *     `MANIFEST_UNKNOWN` "OCI manifest found, but accept header does not support OCI manifests";
 *   - OCI index: likewise, "OCI index found, but accept header does not support OCI indexes";
 *   - Docker schema 2 manifest: always served (schema 2 became the default answer when schema 1 was removed);
 *   - Docker manifest list fetched BY TAG by a client not listing the list type: rewritten to the linux/amd64 child
 *     (a pre-2016 docker compatibility path).
 * So a client that only accepts Docker types (old docker) asking for an OCI index gets 404 MANIFEST_UNKNOWN.
 *
 * Our rules (documented choices):
 *  1. No `Accept` (or nothing parseable in it) → serve. Distribution would refuse OCI types here, but all real
 *     pull clients send `Accept`; those that send none (curl, scripts, browsers' fetch of a digest) want the bytes.
 *  2. Otherwise find the most specific range matching the stored type — exact `type/subtype`, then `type/*`, then
 *     `*∕*` (RFC 7231 §5.3.2) — and serve if its q > 0. Honouring `q=0` as "not acceptable" is stricter than
 *     distribution (which ignores q) but is what the header means.
 *  3. No range matches: Docker schema 2 manifests are served anyway (distribution's behaviour above); everything
 *     else → 404 `MANIFEST_UNKNOWN` with distribution's message. We do not do the manifest-list → amd64 rewrite:
 *     it needs I/O and serves clients (docker < 1.10) that no longer exist.
 * docker, containerd, podman/skopeo, crane and oras all list the four schema-2 types (containerd adds `*∕*`), so in
 * practice every stock client is served.
 */
import { RegistryError } from './errors.ts'
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, normalizeMediaType, OCI_INDEX, OCI_MANIFEST } from './media-types.ts'

export type MediaRange = {
  /** Lowercase, `*` for wildcards. */
  type: string
  subtype: string
  /** Quality 0…1; 1 when absent or unparseable. */
  q: number
}

export type AcceptInput = string | readonly string[] | null | undefined

const TOKEN_RE = /^[!#$%&'*+.^_`|~0-9a-z-]+$/

/**
 * Parses one or more `Accept` header values (several headers, or one comma-joined as `Headers.get` returns)
 * into media ranges. Malformed entries are skipped, like distribution's `mime.ParseMediaType` failures.
 */
export function parseAccept(accept: AcceptInput): MediaRange[] {
  const values = accept == null ? [] : typeof accept === 'string' ? [accept] : accept
  const out: MediaRange[] = []
  for (const value of values) {
    for (const item of value.split(',')) {
      const [range, ...params] = item.split(';')
      const full = normalizeMediaType(range)
      const slash = full.indexOf('/')
      if (slash <= 0) continue
      const type = full.slice(0, slash)
      const subtype = full.slice(slash + 1)
      if (!TOKEN_RE.test(type) || !TOKEN_RE.test(subtype) || (type === '*' && subtype !== '*')) continue
      let q = 1
      for (const p of params) {
        const eq = p.indexOf('=')
        if (eq === -1 || p.slice(0, eq).trim().toLowerCase() !== 'q') continue
        const n = Number(p.slice(eq + 1).trim())
        if (Number.isFinite(n)) q = Math.min(1, Math.max(0, n))
      }
      out.push({ type, subtype, q })
    }
  }
  return out
}

/**
 * The q-value the client gives `mediaType`, from its most specific matching range; `undefined` if no range
 * matches at all.
 */
export function acceptQuality(mediaType: string, accept: AcceptInput): number | undefined {
  const t = normalizeMediaType(mediaType)
  const slash = t.indexOf('/')
  const type = t.slice(0, slash)
  const subtype = t.slice(slash + 1)
  let best: { specificity: number; q: number } | undefined
  for (const r of parseAccept(accept)) {
    let specificity: number
    if (r.type === type && r.subtype === subtype) specificity = 3
    else if (r.type === type && r.subtype === '*') specificity = 2
    else if (r.type === '*' && r.subtype === '*') specificity = 1
    else continue
    // Same specificity listed twice: keep the higher q (lenient to sloppy clients).
    if (!best || specificity > best.specificity || (specificity === best.specificity && r.q > best.q)) best = { specificity, q: r.q }
  }
  return best?.q
}

/** Whether the stored manifest of `storedMediaType` may be served to a client sending `accept` (rules above). */
export function isAcceptable(storedMediaType: string, accept: AcceptInput): boolean {
  if (parseAccept(accept).length === 0) return true
  const q = acceptQuality(storedMediaType, accept)
  if (q !== undefined) return q > 0
  return normalizeMediaType(storedMediaType) === DOCKER_MANIFEST
}

function notAcceptableMessage(t: string): string {
  switch (t) {
    case OCI_MANIFEST:
      return 'OCI manifest found, but accept header does not support OCI manifests'
    case OCI_INDEX:
      return 'OCI index found, but accept header does not support OCI indexes'
    case DOCKER_MANIFEST_LIST:
      return 'manifest list found, but accept header does not support manifest lists'
    default:
      return `manifest of type ${t} found, but accept header does not support it`
  }
}

/**
 * `undefined` if the manifest may be served, else the `MANIFEST_UNKNOWN` (404) error to answer with (detail:
 * `{ mediaType }`). Returned rather than thrown so a HEAD handler can use it without try/catch.
 */
export function negotiateManifest(storedMediaType: string, accept: AcceptInput): RegistryError | undefined {
  if (isAcceptable(storedMediaType, accept)) return undefined
  const t = normalizeMediaType(storedMediaType)
  return new RegistryError('MANIFEST_UNKNOWN', { message: notAcceptableMessage(t), detail: { mediaType: t } })
}

/** Throwing form of `negotiateManifest`. */
export function assertAcceptable(storedMediaType: string, accept: AcceptInput): void {
  const err = negotiateManifest(storedMediaType, accept)
  if (err) throw err
}
