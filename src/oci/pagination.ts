/**
 * `n` / `last` pagination for `GET /v2/<name>/tags/list` and `GET /v2/_catalog` (distribution-spec § Listing
 * Tags; CNCF distribution `registry/handlers/tags.go`, `catalog.go`).
 *
 *  - `n` must be a non-negative base-10 integer, else 400 `PAGINATION_NUMBER_INVALID` (distribution: `strconv.Atoi`
 *    failure or negative). An empty `n=` is treated as absent, as distribution does.
 *  - `n` above the server's cap: the tags endpoint CLAMPS it (distribution's current behaviour, justified by the spec
 *    allowing fewer than `n` results when a `Link` header is sent); the catalog endpoint REJECTS it with
 *    PAGINATION_NUMBER_INVALID (distribution `catalog.go`). Choose with `overMax`.
 *  - `n=0` → empty list and no `Link` header (spec: MUST).
 *  - `last` is the value of the last item already seen (a tag, not an index); results start strictly after it in
 *    lexical ("ASCIIbetical") order.
 *  - when more results remain, `Link: </v2/…?n=<n>&last=<last>>; rel="next"` (RFC 5988). The URL is relative, as
 *    distribution emits it, and clients resolve it against the request URL.
 */
import { errors } from './errors.ts'

export type PageParams = {
  /** Page size; `undefined` when the client did not ask (use the endpoint's default). */
  n?: number
  /** Exclusive lower bound. */
  last?: string
}

export type PageOptions = {
  /** Largest page served. Default 1000. */
  max?: number
  /** What to do with `n > max`: `'clamp'` (tags, default) or `'reject'` (catalog). */
  overMax?: 'clamp' | 'reject'
}

type QueryLike = URLSearchParams | { get(name: string): string | null } | Record<string, string | undefined>

function getParam(q: QueryLike, k: string): string | undefined {
  if (typeof (q as { get?: unknown }).get === 'function') return (q as { get(name: string): string | null }).get(k) ?? undefined
  const v = (q as Record<string, string | undefined>)[k]
  return v ?? undefined
}

/** Reads `n` and `last` from a query. Throws `RegistryError` `PAGINATION_NUMBER_INVALID` for a bad `n`. */
export function parsePageParams(query: QueryLike, opts: PageOptions = {}): PageParams {
  const max = opts.max ?? 1000
  const out: PageParams = {}
  const rawN = getParam(query, 'n')
  if (rawN !== undefined && rawN !== '') {
    if (!/^\d+$/.test(rawN)) throw errors.paginationNumberInvalid(rawN)
    const n = Number(rawN)
    if (!Number.isSafeInteger(n)) {
      if (opts.overMax === 'reject') throw errors.paginationNumberInvalid(rawN)
      out.n = max
    } else if (n > max) {
      if (opts.overMax === 'reject') throw errors.paginationNumberInvalid(n)
      out.n = max
    } else {
      out.n = n
    }
  }
  const last = getParam(query, 'last')
  if (last !== undefined && last !== '') out.last = last
  return out
}

export type Page<T> = {
  items: T[]
  /** Key of the last item returned when more remain (→ `last` of the next request); else `undefined`. */
  next?: string
}

/**
 * One page of `items`, which must already be sorted by `key` in code-unit order (what JS `<` compares, equal to
 * byte order for ASCII tags and names). `n === undefined` → `defaultN` items (all if `defaultN` is undefined).
 */
export function paginate<T>(
  items: readonly T[],
  params: PageParams,
  opts: { key?: (item: T) => string; defaultN?: number } = {},
): Page<T> {
  const key = opts.key ?? ((x: T) => String(x))
  const last = params.last
  const start = last === undefined ? 0 : items.findIndex((x) => key(x) > last)
  const rest = start === -1 ? [] : items.slice(start)
  const n = params.n ?? opts.defaultN
  if (n === undefined) return { items: rest }
  if (n <= 0) return { items: [] }
  const page = rest.slice(0, n)
  return rest.length > n ? { items: page, next: key(page[page.length - 1]!) } : { items: page }
}

/**
 * `Link` header value for the next page: `</v2/alice.test/app/tags/list?n=10&last=v1.2>; rel="next"`. `path` is the
 * request path without query (e.g. `/v2/<name>/tags/list`); other query parameters are not carried over, as in
 * distribution. `last` is percent-encoded.
 */
export function nextPageLink(path: string, n: number, last: string): string {
  const qs = new URLSearchParams({ n: String(n), last }).toString()
  return `<${path}?${qs}>; rel="next"`
}
