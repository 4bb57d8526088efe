import type { ManifestRecord } from '../../atproto/records.ts'
import { parseDigest } from '../../oci/digest.ts'
import { parseManifest } from '../../oci/manifest.ts'
import { OCI_INDEX } from '../../oci/media-types.ts'
import { MANIFEST } from '../store/manifest-store.ts'
import { requireAccess, type RepoRequest } from './request.ts'

/**
 * GET /v2/<name>/referrers/<digest>[?artifactType=]: an OCI index of the manifests in this repository whose
 * `subject` is the digest. Artifact types come from the manifests themselves (artifactType, else config
 * mediaType), so the referrer manifests are read; they are small and cached by digest.
 */
export async function listReferrers(r: RepoRequest, digestParam: string): Promise<Response> {
  requireAccess(r, r.name.name, ['pull'])
  const { digest } = parseDigest(digestParam)
  const filter = r.url.searchParams.get('artifactType')
  const manifests: Record<string, unknown>[] = []
  for await (const rec of r.ctx.manifests.listRecords<ManifestRecord>(r.owner.pdsUrl, r.owner.did, MANIFEST)) {
    const v = rec.value
    if (v.repository !== r.name.repository || v.subject?.digest !== digest) continue
    const bytes = await r.ctx.manifests.getManifestBytes(r.owner.pdsUrl, r.owner.did, v)
    const m = parseManifest(bytes, v.mediaType)
    const artifactType = m.artifactType ?? m.config?.mediaType
    if (filter && artifactType !== filter) continue
    manifests.push({
      mediaType: m.mediaType,
      digest: m.digest,
      size: m.size,
      ...(artifactType ? { artifactType } : {}),
      ...(m.annotations ? { annotations: m.annotations } : {}),
    })
  }
  const headers: Record<string, string> = { 'content-type': OCI_INDEX }
  if (filter) headers['oci-filters-applied'] = 'artifactType'
  return new Response(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }), { headers })
}
