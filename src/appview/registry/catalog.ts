import { allows } from '../auth/registry-token.ts'
import { nextPageLink, parsePageParams } from '../../oci/pagination.ts'
import { ChallengeError, type RegistryRequest } from './request.ts'

/**
 * GET /v2/_catalog: repositories this AppView has seen pushed or pulled (its index of the network), in
 * lexical order with `n`/`last` pagination; `n` above the configured cap is refused as the spec allows.
 */
export async function catalog(r: RegistryRequest): Promise<Response> {
  if (!r.claims || !allows(r.claims, 'registry', 'catalog', '*')) throw new ChallengeError('registry:catalog:*', !!r.claims)
  const max = r.ctx.config.catalog.max_entries
  const params = parsePageParams(r.url.searchParams, { max, overMax: 'reject' })
  const n = params.n ?? 100
  const names = r.ctx.index.catalog(n + 1, params.last)
  const page = names.slice(0, n)
  const headers: Record<string, string> = {}
  if (names.length > n && page.length) headers.link = nextPageLink('/v2/_catalog', n, page[page.length - 1]!)
  return Response.json({ repositories: page }, { headers })
}
