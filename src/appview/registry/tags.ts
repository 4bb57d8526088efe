import type { ManifestRecord, TagRecord } from '../../atproto/records.ts'
import { errors } from '../../oci/errors.ts'
import { nextPageLink, paginate, parsePageParams } from '../../oci/pagination.ts'
import { MANIFEST, TAG } from '../store/manifest-store.ts'
import { requireAccess, type RepoRequest } from './request.ts'

async function hasManifests(r: RepoRequest): Promise<boolean> {
  for await (const rec of r.ctx.manifests.listRecords<ManifestRecord>(r.owner.pdsUrl, r.owner.did, MANIFEST)) {
    if (rec.value.repository === r.name.repository) return true
  }
  return false
}

/** GET /v2/<name>/tags/list with `n`/`last` pagination and a `Link` header to the next page. */
export async function listTags(r: RepoRequest): Promise<Response> {
  requireAccess(r, r.name.name, ['pull'])
  const params = parsePageParams(r.url.searchParams, { max: r.ctx.config.catalog.max_entries })
  const tags: string[] = []
  for await (const rec of r.ctx.manifests.listRecords<TagRecord>(r.owner.pdsUrl, r.owner.did, TAG)) {
    if (rec.value.repository === r.name.repository && typeof rec.value.tag === 'string') tags.push(rec.value.tag)
  }
  // No tags: the repository may still exist with untagged manifests; if not, it is unknown (spec: 404).
  if (tags.length === 0 && !(await hasManifests(r))) throw errors.nameUnknown(r.name.name)
  tags.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const page = paginate([...new Set(tags)], params)
  const headers: Record<string, string> = {}
  if (page.next !== undefined) headers.link = nextPageLink(`/v2/${r.name.name}/tags/list`, params.n!, page.next)
  return Response.json({ name: r.name.name, tags: page.items }, { headers })
}
