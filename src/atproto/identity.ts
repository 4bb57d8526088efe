/**
 * Identity resolution (DID → document, signing key, PDS; handle → DID) with a bounded cache, built on
 * `@atproto/identity`'s `IdResolver`.
 *
 * Defences, because every authenticated hold request ends up here with attacker-chosen input:
 * - only `did:plc` and `did:web` (no paths), syntax-checked before any request;
 * - a bounded LRU cache of documents: fresh for `cacheTtlMs`, then served stale while one background refresh
 *   runs, dropped after `maxStaleMs`; "not found" answers are remembered for `negativeTtlMs`;
 * - concurrent lookups of the same DID share one request;
 * - forced refreshes (key rotation) happen at most once per `refreshIntervalMs` per DID, so a flood of forged
 *   tokens naming a victim DID cannot make us hammer the PLC directory or a did:web host;
 * - outbound requests other than to the configured PLC / handle resolver refuse loopback, private and
 *   link-local hosts (the hostname, and the addresses DNS gives for it) unless `allowLoopback`, follow at
 *   most 3 redirects (each re-checked) and read at most 512 kB.
 *
 * Handles are verified both ways (handle → DID, then the DID document must claim the handle). Under Bun the
 * library's default SSRF-guarded fetch needs Node's undici, so we pass our own guarded wrapper of `fetch`.
 */
import {
  type CacheResult,
  type DidCache,
  type DidDocument,
  IdResolver,
  PoorlyFormattedDidDocumentError,
  PoorlyFormattedDidError,
  UnsupportedDidMethodError,
  UnsupportedDidWebPathError,
  getKey,
  getPds,
} from '@atproto/identity'
import { isValidHandle, isValidTld } from '@atproto/syntax'
import { lookup } from 'node:dns/promises'

export type { DidDocument }

export interface IdentityResolver {
  /** The DID document, or null when the DID positively does not exist. Throws `IdentityError` otherwise. */
  resolveDid(did: string, forceRefresh?: boolean): Promise<DidDocument | null>
  /** The `#atproto` verification method as a `did:key:…`. Throws `IdentityError`. */
  resolveAtprotoKey(did: string, forceRefresh?: boolean): Promise<string>
  /** The `#atproto_pds` service endpoint URL. Throws `IdentityError`. */
  resolvePds(did: string): Promise<string>
  /**
   * The DID a handle points to, verified against the DID document's `alsoKnownAs`; null when it does not
   * resolve or the document does not claim it. Throws `IdentityError` when a service could not be reached.
   */
  resolveHandle(handle: string): Promise<string | null>
}

export type IdentityResolverOptions = {
  /** PLC directory, e.g. https://plc.directory. Always allowed, even on loopback. */
  plcUrl: string
  /** Per-request timeout. Default 3000 ms. */
  timeoutMs?: number
  /** How long a document is used without refreshing. Default 10 min. */
  cacheTtlMs?: number
  /** How long a stale document is still served while it is refreshed in the background. Default 24 h. */
  maxStaleMs?: number
  /** How long "no such DID / handle" is remembered. Default 60 s. */
  negativeTtlMs?: number
  /** Bound of each cache (documents, handles, refresh bookkeeping). Default 10 000. */
  maxCacheEntries?: number
  /** Minimum time between two forced refreshes of one DID. Default 30 s. */
  refreshIntervalMs?: number
  /** Allow did:web and handle lookups to loopback/private hosts (development only). Default false. */
  allowLoopback?: boolean
  /**
   * Resolve handles by asking this XRPC service (`com.atproto.identity.resolveHandle`) instead of DNS/HTTPS —
   * e.g. a PDS or AppView you trust. Always allowed, even on loopback. The result is still verified both ways.
   */
  handleResolverUrl?: string
  /** Injected for tests: the fetch used underneath the guards, and the clock (ms). */
  fetch?: typeof globalThis.fetch
  now?: () => number
  /** Persistent second level for DID documents (bounded by maxStaleMs like the memory level). */
  store?: DidDocumentStore
  /** Check the addresses DNS returns for did:web / handle hosts (when `allowLoopback` is false). Default true. */
  checkDns?: boolean
}

export type IdentityErrorKind = 'invalid' | 'not_found' | 'forbidden' | 'unavailable'

/** Why an identity could not be resolved: bad input/document, missing, refused host, or a network failure. */
export class IdentityError extends Error {
  constructor(
    readonly kind: IdentityErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'IdentityError'
  }
}

const DID_PLC_RE = /^did:plc:[a-z2-7]{24}$/
// did:web with a bare host (optionally %3A-encoded port); atproto does not support did:web paths.
const DID_WEB_RE = /^did:web:[a-zA-Z0-9.-]+(%3[aA][0-9]{1,5})?$/
const MAX_DOC_BYTES = 512 * 1024
const MAX_REDIRECTS = 3

/** Whether `did` is a did:plc or did:web (no path) that this resolver will look up. */
export function isSupportedDid(did: string): boolean {
  return did.length <= 2048 && (DID_PLC_RE.test(did) || DID_WEB_RE.test(did))
}

export function createIdentityResolver(opts: IdentityResolverOptions): IdentityResolver {
  const now = opts.now ?? Date.now
  const timeout = opts.timeoutMs ?? 3000
  const freshMs = opts.cacheTtlMs ?? 10 * 60_000
  const maxStaleMs = Math.max(opts.maxStaleMs ?? 24 * 3600_000, freshMs)
  const negativeTtlMs = opts.negativeTtlMs ?? 60_000
  const maxEntries = Math.max(1, opts.maxCacheEntries ?? 10_000)
  const refreshIntervalMs = opts.refreshIntervalMs ?? 30_000
  const allowLoopback = opts.allowLoopback ?? false

  const trustedOrigins = new Set<string>([new URL(opts.plcUrl).origin])
  if (opts.handleResolverUrl) trustedOrigins.add(new URL(opts.handleResolverUrl).origin)
  const fetchImpl = createGuardedFetch(opts.fetch ?? globalThis.fetch, {
    trustedOrigins,
    allowLoopback,
    checkDns: opts.checkDns ?? true,
  })

  const cache = new BoundedDidCache(maxEntries, freshMs, maxStaleMs, now, opts.store)
  const idResolver = new IdResolver({
    plcUrl: opts.plcUrl,
    timeout,
    didCache: cache,
    fetch: fetchImpl as never,
  })

  const notFound = new BoundedMap<string, number>(maxEntries) // did → until
  const lastForced = new BoundedMap<string, number>(maxEntries) // did → when
  const inflight = new Map<string, Promise<DidDocument | null>>()
  const handles = new BoundedMap<string, { did: string | null; until: number }>(maxEntries)

  /** A forced refresh is granted at most once per interval per DID. */
  function mayForce(did: string): boolean {
    const t = now()
    const last = lastForced.get(did)
    if (last !== undefined && t - last < refreshIntervalMs) return false
    lastForced.set(did, t)
    return true
  }

  async function fetchDoc(did: string, force: boolean): Promise<DidDocument | null> {
    try {
      const doc = await idResolver.did.resolve(did, force)
      if (doc === null) notFound.set(did, now() + negativeTtlMs)
      else notFound.delete(did)
      return doc
    } catch (err) {
      const status = (err as { status?: unknown })?.status
      if (status === 404 || status === 410) {
        // 410: the PLC directory's answer for a tombstoned DID.
        await cache.clearEntry(did)
        notFound.set(did, now() + negativeTtlMs)
        return null
      }
      throw toIdentityError(did, err)
    }
  }

  async function resolveDid(did: string, forceRefresh = false): Promise<DidDocument | null> {
    if (!isSupportedDid(did)) throw new IdentityError('invalid', `unsupported or malformed DID: ${did.slice(0, 100)}`)
    const force = forceRefresh && mayForce(did)
    if (!force) {
      const until = notFound.get(did)
      if (until !== undefined) {
        if (until > now()) return null
        notFound.delete(did)
      }
    }
    const key = force ? `${did}#force` : did
    let p = inflight.get(key)
    if (!p) {
      p = fetchDoc(did, force).finally(() => inflight.delete(key))
      inflight.set(key, p)
    }
    return p
  }

  async function resolveAtprotoKey(did: string, forceRefresh = false): Promise<string> {
    const doc = await resolveDid(did, forceRefresh)
    if (!doc) throw new IdentityError('not_found', `DID not found: ${did}`)
    let key: string | undefined
    try {
      key = getKey(doc)
    } catch (err) {
      throw new IdentityError('invalid', `unreadable #atproto key in DID document of ${did}`, { cause: err })
    }
    if (!key) throw new IdentityError('invalid', `no #atproto verification method in DID document of ${did}`)
    return key
  }

  async function resolvePds(did: string): Promise<string> {
    const doc = await resolveDid(did)
    if (!doc) throw new IdentityError('not_found', `DID not found: ${did}`)
    const pds = getPds(doc)
    if (!pds) throw new IdentityError('invalid', `no #atproto_pds service in DID document of ${did}`)
    return pds
  }

  async function handleToDid(handle: string): Promise<string | undefined> {
    if (opts.handleResolverUrl) {
      const url = new URL('/xrpc/com.atproto.identity.resolveHandle', opts.handleResolverUrl)
      url.searchParams.set('handle', handle)
      let res: Response
      try {
        res = await fetchImpl(url, { redirect: 'error', signal: AbortSignal.timeout(timeout) })
      } catch (err) {
        throw toIdentityError(handle, err)
      }
      if (res.status === 400 || res.status === 404) {
        await res.body?.cancel()
        return undefined
      }
      if (!res.ok) {
        await res.body?.cancel()
        throw new IdentityError('unavailable', `handle resolver answered ${res.status} for ${handle}`)
      }
      const body = (await res.json().catch(() => null)) as { did?: unknown } | null
      return typeof body?.did === 'string' ? body.did : undefined
    }
    return idResolver.handle.resolve(handle)
  }

  async function resolveHandle(input: string): Promise<string | null> {
    const handle = input.trim().toLowerCase().replace(/^@/, '')
    // Reserved TLDs (.example, .invalid, .local, …) never resolve; neither does .test in public DNS, so it is
    // only looked up through a configured handle resolver (the dev-env PDS answers for its .test accounts).
    if (!isValidHandle(handle) || !isValidTld(handle)) return null
    if (handle.endsWith('.test') && !opts.handleResolverUrl) return null
    const hit = handles.get(handle)
    if (hit && hit.until > now()) return hit.did
    const did = await handleToDid(handle)
    let verified: string | null = null
    if (did && isSupportedDid(did)) {
      const doc = await resolveDid(did)
      const claims = (doc?.alsoKnownAs ?? []).some((aka) => aka.toLowerCase() === `at://${handle}`)
      if (claims) verified = did
    }
    handles.set(handle, { did: verified, until: now() + (verified ? freshMs : negativeTtlMs) })
    return verified
  }

  return { resolveDid, resolveAtprotoKey, resolvePds, resolveHandle }
}

function toIdentityError(subject: string, err: unknown): IdentityError {
  if (err instanceof IdentityError) return err
  if (err instanceof ForbiddenHostError) return new IdentityError('forbidden', err.message, { cause: err })
  if (err instanceof PoorlyFormattedDidDocumentError) {
    return new IdentityError('invalid', `malformed DID document for ${subject}`, { cause: err })
  }
  if (
    err instanceof PoorlyFormattedDidError ||
    err instanceof UnsupportedDidMethodError ||
    err instanceof UnsupportedDidWebPathError ||
    err instanceof SyntaxError
  ) {
    return new IdentityError('invalid', `invalid identity data for ${subject}: ${(err as Error).message}`, { cause: err })
  }
  return new IdentityError('unavailable', `could not resolve ${subject}: ${(err as Error)?.message ?? String(err)}`, {
    cause: err,
  })
}

/** Insertion-ordered map that drops its oldest entries beyond `max`; `get` refreshes recency. */
class BoundedMap<K, V> {
  private map = new Map<K, V>()
  constructor(private readonly max: number) {}
  get size(): number {
    return this.map.size
  }
  get(k: K): V | undefined {
    const v = this.map.get(k)
    if (v !== undefined) {
      this.map.delete(k)
      this.map.set(k, v)
    }
    return v
  }
  set(k: K, v: V): void {
    this.map.delete(k)
    this.map.set(k, v)
    while (this.map.size > this.max) {
      const oldest = this.map.keys().next().value as K
      this.map.delete(oldest)
    }
  }
  delete(k: K): void {
    this.map.delete(k)
  }
  clear(): void {
    this.map.clear()
  }
}

/**
 * `DidCache` for IdResolver: LRU-bounded; stale entries are returned at once and refreshed in the background
 * (one refresh per DID at a time); expired entries are dropped so the resolver fetches synchronously.
 */
class BoundedDidCache implements DidCache {
  private entries: BoundedMap<string, { doc: DidDocument; updatedAt: number }>
  private refreshing = new Set<string>()
  constructor(
    max: number,
    private readonly staleMs: number,
    private readonly maxMs: number,
    private readonly now: () => number,
    private readonly store?: DidDocumentStore,
  ) {
    this.entries = new BoundedMap(max)
  }
  async cacheDid(did: string, doc: DidDocument): Promise<void> {
    const updatedAt = this.now()
    this.entries.set(did, { doc, updatedAt })
    this.store?.save(did, doc, updatedAt)
  }
  async checkCache(did: string): Promise<CacheResult | null> {
    let e = this.entries.get(did)
    if (!e && this.store) {
      // Second level: documents resolved before a restart are used (and refreshed) like memory entries.
      const stored = this.store.load(did)
      if (stored) this.entries.set(did, (e = stored))
    }
    if (!e) return null
    const age = this.now() - e.updatedAt
    const expired = age > this.maxMs
    if (expired) this.entries.delete(did)
    return { did, doc: e.doc, updatedAt: e.updatedAt, stale: age > this.staleMs, expired }
  }
  async refreshCache(did: string, getDoc: () => Promise<DidDocument | null>): Promise<void> {
    if (this.refreshing.has(did)) return
    this.refreshing.add(did)
    void getDoc()
      .then((doc) => (doc ? this.cacheDid(did, doc) : this.clearEntry(did)))
      .catch(() => {}) // keep serving the stale document; it expires after maxMs
      .finally(() => this.refreshing.delete(did))
  }
  async clearEntry(did: string): Promise<void> {
    this.entries.delete(did)
    this.store?.delete(did)
  }
  async clear(): Promise<void> {
    this.entries.clear()
  }
}

/** A persistent second level for resolved DID documents (the AppView keeps one in SQLite). */
export interface DidDocumentStore {
  load(did: string): { doc: DidDocument; updatedAt: number } | null
  save(did: string, doc: DidDocument, updatedAt: number): void
  delete(did: string): void
}

/** DID documents in a bun:sqlite table, so restarts do not send every user's first request to the PLC. */
export function sqliteDidStore(db: import('bun:sqlite').Database): DidDocumentStore {
  db.run('CREATE TABLE IF NOT EXISTS did_doc (did TEXT PRIMARY KEY, doc TEXT NOT NULL, updated_at INTEGER NOT NULL)')
  const qLoad = db.query<{ doc: string; updated_at: number }, [string]>('SELECT doc, updated_at FROM did_doc WHERE did = ?')
  const qSave = db.query('INSERT INTO did_doc (did, doc, updated_at) VALUES (?1, ?2, ?3) ON CONFLICT(did) DO UPDATE SET doc = ?2, updated_at = ?3')
  const qDel = db.query('DELETE FROM did_doc WHERE did = ?')
  return {
    load(did) {
      const r = qLoad.get(did)
      return r ? { doc: JSON.parse(r.doc) as DidDocument, updatedAt: r.updated_at } : null
    },
    save: (did, doc, updatedAt) => void qSave.run(did, JSON.stringify(doc), updatedAt),
    delete: (did) => void qDel.run(did),
  }
}

// ---- outbound request guard ----

class ForbiddenHostError extends Error {
  override name = 'ForbiddenHostError'
}

export type GuardedFetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>

/**
 * A fetch for URLs taken from untrusted data (did:web hosts, handles, PDS endpoints): refuses non-http(s)
 * and — unless `allowLoopback` — loopback/private hosts, by name and (with `checkDns`) by the addresses DNS
 * gives; follows at most 3 redirects itself, checking each hop (`redirect: 'error'` refuses them, `'manual'`
 * returns them unfollowed);
 * reads at most `maxBytes` (default 512 kB). `trustedOrigins` (configured services) skip the host checks.
 */
export function createGuardedFetch(
  base: typeof globalThis.fetch,
  g: { trustedOrigins?: Iterable<string>; allowLoopback?: boolean; checkDns?: boolean; maxBytes?: number },
): GuardedFetch {
  const trusted = new Set(g.trustedOrigins ?? [])
  const maxBytes = g.maxBytes ?? MAX_DOC_BYTES
  async function check(url: URL): Promise<void> {
    if (trusted.has(url.origin)) return
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ForbiddenHostError(`refused ${url.protocol} URL`)
    if (g.allowLoopback) return
    if (isPrivateHost(url.hostname)) throw new ForbiddenHostError(`refused request to private host ${url.hostname}`)
    if ((g.checkDns ?? true) && !isIpLiteral(url.hostname)) {
      let addrs: { address: string }[] = []
      try {
        addrs = await lookup(url.hostname, { all: true })
      } catch {
        return // let fetch report the failure
      }
      const bad = addrs.find((a) => isPrivateHost(a.address))
      if (bad) throw new ForbiddenHostError(`refused request to ${url.hostname}: resolves to private address ${bad.address}`)
    }
  }

  return async (input, init = {}) => {
    let url = new URL(input instanceof Request ? input.url : String(input))
    // A Request carries its own method, headers (Authorization!) and body: keep them, init still wins.
    if (input instanceof Request) {
      init = { method: input.method, headers: input.headers, ...(input.body ? { body: input.body, duplex: 'half' } : {}), ...init } as RequestInit
    }
    const mode = init.redirect ?? 'follow'
    for (let hop = 0; ; hop++) {
      await check(url)
      const res = await base(url, { ...init, redirect: 'manual' })
      const location = res.headers.get('location')
      if (res.status >= 300 && res.status < 400 && location) {
        // `manual` hands the redirect to the caller (a hold's 307 to a presigned URL is the answer itself).
        if (mode === 'manual') return res
        await res.body?.cancel()
        if (mode !== 'follow') throw new TypeError(`unexpected redirect from ${url.origin}`)
        if (hop >= MAX_REDIRECTS) throw new TypeError(`too many redirects from ${url.origin}`)
        url = new URL(location, url)
        continue
      }
      return limitBody(res, maxBytes)
    }
  }
}

async function limitBody(res: Response, max: number): Promise<Response> {
  const declared = Number(res.headers.get('content-length') ?? NaN)
  if (declared > max) {
    await res.body?.cancel()
    throw new TypeError(`response too large (${declared} bytes)`)
  }
  if (!res.body) return res
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > max) {
      await reader.cancel()
      throw new TypeError(`response too large (over ${max} bytes)`)
    }
    chunks.push(value)
  }
  return new Response(Buffer.concat(chunks), { status: res.status, statusText: res.statusText, headers: res.headers })
}

function isIpLiteral(host: string): boolean {
  return parseIpv4(host) !== null || host.includes(':')
}

/**
 * Whether a hostname (as `URL.hostname` gives it, IPv6 in brackets) or a bare IP address is loopback,
 * private, link-local, CGNAT, unspecified, multicast or otherwise not a public unicast destination.
 */
export function isPrivateHost(hostname: string): boolean {
  let h = hostname.toLowerCase()
  if (h.endsWith('.')) h = h.slice(0, -1)
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1)
  if (h === 'localhost' || h.endsWith('.localhost') || h === '') return true
  const v4 = parseIpv4(h)
  if (v4) return isPrivateIpv4(v4)
  if (h.includes(':')) {
    const v6 = parseIpv6(h)
    return v6 ? isPrivateIpv6(v6) : true // unparseable: refuse
  }
  return false
}

function parseIpv4(s: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s)
  if (!m) return null
  const parts = m.slice(1).map(Number)
  return parts.every((n) => n <= 255) ? parts : null
}

function isPrivateIpv4([a, b]: number[]): boolean {
  if (a === undefined || b === undefined) return true
  return (
    a === 0 || // "this network"
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) || // CGNAT
    (a === 169 && b === 254) || // link-local (cloud metadata)
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0) || // 192.0.0/24 protocol assignments, 192.0.2/24 documentation
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    a >= 224 // multicast, reserved, broadcast
  )
}

/** Eight 16-bit groups, or null. Accepts `::` compression and a trailing dotted IPv4 part. */
function parseIpv6(s: string): number[] | null {
  const zone = s.indexOf('%')
  if (zone >= 0) s = s.slice(0, zone)
  const lastColon = s.lastIndexOf(':')
  const v4 = parseIpv4(s.slice(lastColon + 1))
  if (v4) {
    const hi = ((v4[0]! << 8) | v4[1]!).toString(16)
    const lo = ((v4[2]! << 8) | v4[3]!).toString(16)
    s = `${s.slice(0, lastColon + 1)}${hi}:${lo}`
  }
  const halves = s.split('::')
  if (halves.length > 2) return null
  const toGroups = (part: string) => (part === '' ? [] : part.split(':'))
  const head = toGroups(halves[0]!)
  const rest = halves.length === 2 ? toGroups(halves[1]!) : []
  const parse = (g: string) => (/^[0-9a-f]{1,4}$/.test(g) ? parseInt(g, 16) : NaN)
  const hg = head.map(parse)
  const rg = rest.map(parse)
  if ([...hg, ...rg].some(Number.isNaN)) return null
  const have = hg.length + rg.length
  if (halves.length === 1 && have !== 8) return null
  if (halves.length === 2 && have > 7) return null
  return [...hg, ...Array(8 - have).fill(0), ...rg]
}

function isPrivateIpv6(g: number[]): boolean {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g
  const embeddedV4 = [g6 >> 8, g6 & 0xff, g7 >> 8, g7 & 0xff]
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0) {
    if (g5 === 0 && g6 === 0 && (g7 === 0 || g7 === 1)) return true // :: and ::1
    if (g5 === 0xffff || g5 === 0) return isPrivateIpv4(embeddedV4) // IPv4-mapped / -compatible
  }
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return isPrivateIpv4(embeddedV4) // NAT64
  if ((g0 & 0xfe00) === 0xfc00) return true // fc00::/7 unique local
  if ((g0 & 0xffc0) === 0xfe80) return true // fe80::/10 link-local
  if ((g0 & 0xffc0) === 0xfec0) return true // fec0::/10 site-local (deprecated)
  if ((g0 & 0xff00) === 0xff00) return true // multicast
  if (g0 === 0x2001 && g1 === 0x0db8) return true // documentation
  return false
}
