import type { IdentityResolver } from '../../atproto/identity.ts'

/** An error a hold answered with (`{error, message}`), or a failure to reach it (status 502). */
export class HoldError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
  ) {
    super(message)
  }
}

/** Mints a service token for (hold DID, method); null for anonymous callers. */
export type TokenSource = (holdDid: string, lxm: string) => Promise<string | null>

export interface BlobLocation {
  /** The presigned (or hold-signed) URL to send the client to. */
  url: string
  size: number
}

/**
 * The AppView's side of the hold XRPC API. Every call carries a service token minted by the user's PDS
 * (`aud` = hold DID, `lxm` = method); endpoints come from the hold's DID document.
 */
export class HoldClient {
  private readonly endpoints = new Map<string, { url: string; until: number }>()

  constructor(
    private readonly resolver: IdentityResolver,
    private readonly opts: { fetch?: typeof fetch; endpointTtlMs?: number } = {},
  ) {}

  /** The hold's service endpoint: its `#atcr_hold` service, else `#atproto_pds`. */
  async endpoint(holdDid: string): Promise<string> {
    const hit = this.endpoints.get(holdDid)
    if (hit && hit.until > Date.now()) return hit.url
    const doc = await this.resolver.resolveDid(holdDid).catch((err) => {
      throw new HoldError(502, 'HoldUnavailable', `cannot resolve hold ${holdDid}: ${(err as Error).message}`)
    })
    const services = ((doc as { service?: { id: string; serviceEndpoint: unknown }[] } | null)?.service ?? []) as {
      id: string
      serviceEndpoint: unknown
    }[]
    const pick = (frag: string) => services.find((s) => s.id === frag || s.id === `${holdDid}${frag}`)?.serviceEndpoint
    const url = pick('#atcr_hold') ?? pick('#atproto_pds')
    if (typeof url !== 'string') throw new HoldError(502, 'HoldUnavailable', `hold ${holdDid} publishes no service endpoint`)
    if (this.endpoints.size > 10_000) this.endpoints.clear()
    this.endpoints.set(holdDid, { url: url.replace(/\/+$/, ''), until: Date.now() + (this.opts.endpointTtlMs ?? 10 * 60_000) })
    return url.replace(/\/+$/, '')
  }

  private async call(holdDid: string, nsid: string, token: string | null, init: { params?: Record<string, string>; body?: unknown; method?: string }) {
    const base = await this.endpoint(holdDid)
    const url = new URL(`${base}/xrpc/${nsid}`)
    for (const [k, v] of Object.entries(init.params ?? {})) url.searchParams.set(k, v)
    const headers: Record<string, string> = {}
    if (token) headers.authorization = `Bearer ${token}`
    if (init.body !== undefined) headers['content-type'] = 'application/json'
    let res: Response
    try {
      res = await (this.opts.fetch ?? fetch)(url, {
        method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'),
        headers,
        body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
        redirect: 'manual',
        signal: AbortSignal.timeout(60_000),
      })
    } catch (err) {
      throw new HoldError(502, 'HoldUnavailable', `hold ${holdDid} unreachable: ${(err as Error).message}`)
    }
    return res
  }

  private async json<T>(res: Response): Promise<T> {
    const body = (await res.json().catch(() => ({}))) as Record<string, unknown>
    if (!res.ok) throw new HoldError(res.status, String(body.error ?? 'HoldError'), String(body.message ?? `hold answered ${res.status}`))
    return body as T
  }

  /** Where the blob can be fetched (GET) or checked (HEAD); null when the hold does not have it. */
  async locateBlob(holdDid: string, digest: string, method: 'GET' | 'HEAD', token: string | null): Promise<BlobLocation | null> {
    const res = await this.call(holdDid, 'com.atproto.sync.getBlob', token, { params: { did: holdDid, cid: digest }, method })
    if (res.status === 307 || res.status === 302) {
      return { url: res.headers.get('location')!, size: Number(res.headers.get('x-blob-size') ?? -1) }
    }
    if (res.status === 404) {
      await res.body?.cancel()
      return null
    }
    await this.json(res)
    throw new HoldError(502, 'HoldError', `unexpected getBlob answer ${res.status}`)
  }

  async initiateUpload(holdDid: string, token: string, digest: string): Promise<string> {
    const res = await this.call(holdDid, 'io.atcr.hold.initiateUpload', token, { body: { digest } })
    return (await this.json<{ uploadId: string }>(res)).uploadId
  }

  async partUploadUrl(holdDid: string, token: string, uploadId: string, partNumber: number): Promise<{ url: string; method: string; headers?: Record<string, string> }> {
    const res = await this.call(holdDid, 'io.atcr.hold.getPartUploadUrl', token, { body: { uploadId, partNumber } })
    return this.json(res)
  }

  async completeUpload(holdDid: string, token: string, uploadId: string, digest: string, parts: { partNumber: number; etag: string }[]): Promise<void> {
    const res = await this.call(holdDid, 'io.atcr.hold.completeUpload', token, { body: { uploadId, digest, parts } })
    await this.json(res)
  }

  async abortUpload(holdDid: string, token: string, uploadId: string): Promise<void> {
    const res = await this.call(holdDid, 'io.atcr.hold.abortUpload', token, { body: { uploadId } })
    await this.json(res)
  }

  async notifyManifest(holdDid: string, token: string, input: Record<string, unknown>): Promise<Record<string, unknown>> {
    const res = await this.call(holdDid, 'io.atcr.hold.notifyManifest', token, { body: input })
    return this.json(res)
  }
}
