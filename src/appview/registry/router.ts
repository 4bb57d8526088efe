import { errors, registryErrorResponse } from '../../oci/errors.ts'
import type { AppviewContext } from '../context.ts'
import { deleteBlob, getBlob } from './blobs.ts'
import { catalog } from './catalog.ts'
import { deleteManifest, getManifest, putManifest } from './manifests.ts'
import { listReferrers } from './referrers.ts'
import { ChallengeError, readClaims, resolveRepo, toRegistryError, type RegistryRequest, type RepoRequest } from './request.ts'
import { listTags } from './tags.ts'
import { cancelUpload, finishUpload, patchUpload, startUpload, uploadStatus } from './uploads.ts'

type Handler = (r: RepoRequest, arg: string) => Promise<Response>

// Names contain slashes, so each route is "<name>/<resource>/<arg>" matched from the right.
const ROUTES: { re: RegExp; methods: Record<string, Handler> }[] = [
  { re: /^(.+)\/manifests\/([^/]+)$/, methods: { GET: getManifest, HEAD: getManifest, PUT: putManifest, DELETE: deleteManifest } },
  { re: /^(.+)\/blobs\/uploads\/?$/, methods: { POST: (r) => startUpload(r) } },
  { re: /^(.+)\/blobs\/uploads\/([^/]+)$/, methods: { GET: uploadStatus, PATCH: patchUpload, PUT: finishUpload, DELETE: cancelUpload } },
  { re: /^(.+)\/blobs\/([^/]+)$/, methods: { GET: getBlob, HEAD: getBlob, DELETE: deleteBlob } },
  { re: /^(.+)\/tags\/list$/, methods: { GET: (r) => listTags(r) } },
  { re: /^(.+)\/referrers\/([^/]+)$/, methods: { GET: listReferrers } },
]

/** Everything under /v2/: the OCI Distribution API. One place maps all failures to the spec's error bodies. */
export async function handleRegistry(ctx: AppviewContext, req: Request): Promise<Response> {
  const url = new URL(req.url)
  const r: RegistryRequest = { ctx, req, url, claims: null }
  try {
    r.claims = await readClaims(ctx, req)
    const path = url.pathname.replace(/^\/v2\/?/, '')
    if (path === '') {
      if (!r.claims) throw new ChallengeError(undefined, false)
      return Response.json({}, { headers: { 'docker-distribution-api-version': 'registry/2.0' } })
    }
    if (path === '_catalog') return await catalog(r)
    for (const route of ROUTES) {
      const m = route.re.exec(path)
      if (!m) continue
      const handler = route.methods[req.method]
      if (!handler) throw errors.unsupported({ reason: `${req.method} is not supported here` })
      const repo = await resolveRepo(r, decodeURIComponent(m[1]!))
      return await handler(repo, decodeURIComponent(m[2] ?? ''))
    }
    throw errors.nameUnknown(path)
  } catch (err) {
    const mapped = err instanceof Array ? err : toRegistryError(ctx, err)
    const res = mapped instanceof Response ? mapped : registryErrorResponse(mapped, ctx.log)
    res.headers.set('docker-distribution-api-version', 'registry/2.0')
    return res
  }
}
