/**
 * S3-compatible storage (AWS, R2, Ceph radosgw, MinIO...). Clients fetch and upload directly against the bucket
 * with presigned URLs; the hold only signs (DESIGN.md §6).
 *
 * Bun's built-in S3 client covers presigned GET/HEAD, stat, write, delete and list. It has no multipart upload
 * API with caller-visible parts, no CopyObject and cannot presign UploadPart, so those go through `aws4fetch`
 * (plain SigV4 over fetch) and their small XML answers are read with regexes.
 */
import { AwsClient } from 'aws4fetch'
import { randomBytes } from 'node:crypto'
import type { FileHandle } from 'node:fs/promises'
import { mkdir, open, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CompletedPart, PartUrl, StorageDriver } from './driver.ts'
import { MAX_PART_NUMBER, MIN_PART_NUMBER } from './driver.ts'
import { StorageError, type StorageErrorCode } from './errors.ts'

export interface S3DriverOptions {
  /** e.g. `https://<account>.r2.cloudflarestorage.com`; AWS's regional endpoint when absent. */
  endpoint?: string
  region: string
  bucket: string
  accessKey: string
  secretKey: string
  /** CDN origin (`https://cdn.example.com`) whose host replaces the bucket's in presigned GET URLs. */
  pullZone?: string
  /** Bucket in the path rather than the host name. Defaults to true with a custom endpoint, false on AWS. */
  forcePathStyle?: boolean
  /** Where streamed part bodies are spooled (S3 needs a Content-Length up front). Defaults to the OS temp dir. */
  spoolDir?: string
  /** Objects above this size are moved with UploadPartCopy instead of CopyObject. S3's limit, 5 GiB, by default. */
  multipartCopyThreshold?: number
  /** Part size for UploadPartCopy; 1 GiB by default (grown automatically to stay within 10000 parts). */
  multipartCopyPartSize?: number
}

const GiB = 1024 ** 3
const MiB = 1024 ** 2
/** SigV4 presigned URLs cannot live longer than seven days. */
const MAX_TTL = 7 * 24 * 3600
/** Streamed part bodies up to this size stay in memory; larger ones go to a spool file. */
const SPOOL_IN_MEMORY = 8 * MiB
const COPY_CONCURRENCY = 4

export class S3Driver implements StorageDriver {
  readonly name = 's3' as const
  private readonly client: Bun.S3Client
  private readonly aws: AwsClient
  /** Bucket URL without trailing slash; object URLs are `${bucketUrl}/${encodedKey}`. */
  private readonly bucketUrl: string
  private readonly bucket: string
  private readonly pullZone: URL | undefined
  private readonly spoolDir: string
  private readonly copyThreshold: number
  private readonly copyPartSize: number

  constructor(opts: S3DriverOptions) {
    const endpoint = new URL(opts.endpoint ?? `https://s3.${opts.region}.amazonaws.com`)
    const pathStyle = opts.forcePathStyle ?? opts.endpoint !== undefined
    const origin = `${endpoint.protocol}//${endpoint.host}`
    const basePath = endpoint.pathname.replace(/\/+$/, '')
    this.bucket = opts.bucket
    this.bucketUrl = pathStyle
      ? `${origin}${basePath}/${encodeURIComponent(opts.bucket)}`
      : `${endpoint.protocol}//${opts.bucket}.${endpoint.host}${basePath}`
    this.client = new Bun.S3Client({
      accessKeyId: opts.accessKey,
      secretAccessKey: opts.secretKey,
      region: opts.region,
      // Bun's virtual-hosted mode takes the bucket from the endpoint host, so hand it the bucket's own host.
      ...(pathStyle
        ? { endpoint: `${origin}${basePath}`, bucket: opts.bucket }
        : { endpoint: this.bucketUrl, virtualHostedStyle: true }),
    })
    // Explicit service and region: aws4fetch would otherwise guess them from the host, wrongly for non-AWS hosts.
    this.aws = new AwsClient({
      accessKeyId: opts.accessKey,
      secretAccessKey: opts.secretKey,
      service: 's3',
      region: opts.region,
      retries: 3,
    })
    this.pullZone = opts.pullZone ? new URL(opts.pullZone) : undefined
    this.spoolDir = opts.spoolDir ?? tmpdir()
    this.copyThreshold = opts.multipartCopyThreshold ?? 5 * GiB
    this.copyPartSize = opts.multipartCopyPartSize ?? GiB
  }

  // ---- objects ----

  async stat(key: string): Promise<{ size: number } | null> {
    checkKey(key)
    try {
      const st = await this.client.file(key).stat()
      return { size: st.size }
    } catch (err) {
      if (isNotFound(err)) return null
      throw wrapBunError(err, `stat ${key}`)
    }
  }

  async read(key: string): Promise<ReadableStream<Uint8Array> | null> {
    checkKey(key)
    // A presigned GET answers 404 cleanly, where Bun's file().stream() only fails once reading starts.
    const res = await fetch(this.client.presign(key, { method: 'GET', expiresIn: 300 }))
    if (res.status === 404) {
      await res.body?.cancel()
      return null
    }
    if (!res.ok) await fail(res, `read ${key}`)
    return res.body ?? new Blob([]).stream()
  }

  async write(key: string, data: Uint8Array | ReadableStream<Uint8Array>): Promise<void> {
    checkKey(key)
    // Wrapping a stream in a Response lets Bun upload it in parts without holding it all in memory.
    try {
      await this.client.write(key, data instanceof Uint8Array ? data : new Response(data))
    } catch (err) {
      throw wrapBunError(err, `write ${key}`)
    }
  }

  async delete(key: string): Promise<void> {
    checkKey(key)
    try {
      await this.client.delete(key)
    } catch (err) {
      if (isNotFound(err)) return
      throw wrapBunError(err, `delete ${key}`)
    }
  }

  async *list(prefix: string): AsyncIterable<{ key: string; size: number }> {
    let continuationToken: string | undefined
    do {
      let page: Awaited<ReturnType<Bun.S3Client['list']>>
      try {
        page = await this.client.list({ prefix, maxKeys: 1000, ...(continuationToken ? { continuationToken } : {}) })
      } catch (err) {
        throw wrapBunError(err, `list ${prefix}`)
      }
      for (const obj of page.contents ?? []) yield { key: obj.key, size: obj.size ?? 0 }
      continuationToken = page.isTruncated ? page.nextContinuationToken : undefined
    } while (continuationToken)
  }

  /**
   * CopyObject + DeleteObject. CopyObject stops at 5 GiB, so larger objects are copied server-side part by part
   * with UploadPartCopy; either way no bytes pass through the hold.
   */
  async move(from: string, to: string): Promise<void> {
    const st = await this.stat(from)
    if (!st) throw new StorageError('NotFound', `no object at ${from}`)
    checkKey(to)
    // Copying onto itself and then deleting the source would lose the object.
    if (from === to) return
    if (st.size > this.copyThreshold) await this.copyMultipart(from, to, st.size)
    else await this.copyObject(from, to)
    await this.delete(from)
  }

  // ---- multipart ----

  async createMultipart(key: string): Promise<string> {
    checkKey(key)
    const res = await this.aws.fetch(`${this.objectUrl(key)}?uploads`, { method: 'POST' })
    const body = await res.text()
    if (!res.ok) failText(res, body, `create upload for ${key}`)
    const id = xmlTag(body, 'UploadId')
    if (!id) throw new StorageError('Backend', `create upload for ${key}: no UploadId in answer`)
    return id
  }

  async partUrl(key: string, uploadId: string, partNumber: number, ttlSeconds: number): Promise<PartUrl> {
    checkKey(key)
    checkPartNumber(partNumber)
    const url = new URL(this.objectUrl(key))
    url.searchParams.set('partNumber', String(partNumber))
    url.searchParams.set('uploadId', uploadId)
    url.searchParams.set('X-Amz-Expires', String(ttl(ttlSeconds)))
    const signed = await this.aws.sign(url.toString(), { method: 'PUT', aws: { signQuery: true } })
    return { url: signed.url, method: 'PUT' }
  }

  async putPart(
    key: string,
    uploadId: string,
    partNumber: number,
    body: ReadableStream<Uint8Array> | Uint8Array,
  ): Promise<string> {
    checkKey(key)
    checkPartNumber(partNumber)
    // S3 refuses chunked uploads without a Content-Length, and the interface does not pass one: spool first.
    const payload = body instanceof Uint8Array ? { body, cleanup: async () => {} } : await spool(body, this.spoolDir)
    try {
      const url = this.objectUrl(key, { partNumber: String(partNumber), uploadId })
      const res = await this.aws.fetch(url, { method: 'PUT', body: payload.body })
      if (!res.ok) await fail(res, `upload part ${partNumber} of ${key}`)
      await res.body?.cancel()
      const etag = res.headers.get('etag')
      if (!etag) throw new StorageError('Backend', `upload part ${partNumber} of ${key}: no ETag in answer`)
      return etag
    } finally {
      await payload.cleanup()
    }
  }

  async completeMultipart(key: string, uploadId: string, parts: CompletedPart[]): Promise<void> {
    checkKey(key)
    const xml =
      '<CompleteMultipartUpload>' +
      parts
        .map((p) => `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>${escapeXml(quoteEtag(p.etag))}</ETag></Part>`)
        .join('') +
      '</CompleteMultipartUpload>'
    const res = await this.aws.fetch(this.objectUrl(key, { uploadId }), {
      method: 'POST',
      body: xml,
      headers: { 'Content-Type': 'application/xml' },
    })
    const body = await res.text()
    // CompleteMultipartUpload may answer 200 and still report an error in the body (S3 docs).
    if (!res.ok || /<Error>/.test(body)) {
      // radosgw answers an unknown upload id with 500 "completion already in progress" rather than NoSuchUpload
      // (ceph tracker 75534, ceph/s3-tests#728): ListParts tells the two apart.
      if (res.status >= 500 && !(await this.uploadExists(key, uploadId))) {
        throw new StorageError('NoSuchUpload', `complete upload of ${key}: NoSuchUpload [${res.status}]`)
      }
      failText(res, body, `complete upload of ${key}`)
    }
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    checkKey(key)
    const res = await this.aws.fetch(this.objectUrl(key, { uploadId }), { method: 'DELETE' })
    const body = await res.text()
    if (res.ok || res.status === 404) return
    failText(res, body, `abort upload of ${key}`)
  }

  // ---- URLs ----

  async getUrl(key: string, ttlSeconds: number, method: 'GET' | 'HEAD' = 'GET'): Promise<string> {
    checkKey(key)
    const signed = this.client.presign(key, { method, expiresIn: ttl(ttlSeconds) })
    if (method !== 'GET' || !this.pullZone) return signed
    // The signature stays the one computed for the bucket's host: the pull zone is expected to forward requests
    // to the bucket with the original Host, as CDN pull zones in front of S3 do.
    const url = new URL(signed)
    url.protocol = this.pullZone.protocol
    // hostname and port separately: assigning `host` without a port would keep the bucket endpoint's port.
    url.hostname = this.pullZone.hostname
    url.port = this.pullZone.port
    return url.toString()
  }

  // ---- internals ----

  private objectUrl(key: string, query?: Record<string, string>): string {
    const url = `${this.bucketUrl}/${encodeKey(key)}`
    return query ? `${url}?${new URLSearchParams(query)}` : url
  }

  private async uploadExists(key: string, uploadId: string): Promise<boolean> {
    const res = await this.aws.fetch(this.objectUrl(key, { uploadId, 'max-parts': '1' }), { method: 'GET' })
    await res.body?.cancel()
    return res.status !== 404
  }

  private copySource(key: string): string {
    return `/${encodeURIComponent(this.bucket)}/${encodeKey(key)}`
  }

  private async copyObject(from: string, to: string): Promise<void> {
    const res = await this.aws.fetch(this.objectUrl(to), {
      method: 'PUT',
      headers: { 'x-amz-copy-source': this.copySource(from) },
    })
    const body = await res.text()
    // Like Complete, CopyObject can fail after sending 200 and report it in the body.
    if (!res.ok || /<Error>/.test(body)) failText(res, body, `copy ${from} to ${to}`)
  }

  private async copyMultipart(from: string, to: string, size: number): Promise<void> {
    const partSize = Math.max(this.copyPartSize, Math.ceil(size / MAX_PART_NUMBER), 5 * MiB)
    const count = Math.ceil(size / partSize)
    const uploadId = await this.createMultipart(to)
    try {
      const parts: CompletedPart[] = new Array(count)
      let next = 0
      const worker = async () => {
        while (next < count) {
          const i = next++
          const start = i * partSize
          const end = Math.min(size, start + partSize) - 1
          const res = await this.aws.fetch(this.objectUrl(to, { partNumber: String(i + 1), uploadId }), {
            method: 'PUT',
            headers: { 'x-amz-copy-source': this.copySource(from), 'x-amz-copy-source-range': `bytes=${start}-${end}` },
          })
          const body = await res.text()
          const etag = xmlTag(body, 'ETag')
          if (!res.ok || /<Error>/.test(body) || !etag) failText(res, body, `copy part ${i + 1} of ${from}`)
          parts[i] = { partNumber: i + 1, etag }
        }
      }
      await Promise.all(Array.from({ length: Math.min(COPY_CONCURRENCY, count) }, worker))
      await this.completeMultipart(to, uploadId, parts)
    } catch (err) {
      await this.abortMultipart(to, uploadId).catch(() => {})
      throw err
    }
  }
}

// ---- helpers ----

function checkKey(key: string): void {
  // Keys are taken literally (S3 has no directories, so `..` is just two dots); only unusable ones are refused.
  if (typeof key !== 'string' || key.length === 0) throw new StorageError('InvalidKey', 'empty storage key')
  if (Buffer.byteLength(key) > 1024) throw new StorageError('InvalidKey', 'storage key longer than 1024 bytes')
}

function checkPartNumber(n: number): void {
  if (!Number.isInteger(n) || n < MIN_PART_NUMBER || n > MAX_PART_NUMBER) {
    throw new StorageError('InvalidRequest', `part number ${n} outside ${MIN_PART_NUMBER}..${MAX_PART_NUMBER}`)
  }
}

function ttl(seconds: number): number {
  if (!Number.isFinite(seconds) || seconds <= 0) throw new StorageError('InvalidRequest', `bad ttl ${seconds}`)
  return Math.min(MAX_TTL, Math.ceil(seconds))
}

/** RFC 3986 encoding per path segment: what SigV4 canonicalizes to, so the signed and the sent path agree. */
function encodeKey(key: string): string {
  return key
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/')
}

function quoteEtag(etag: string): string {
  const t = etag.trim()
  return t.startsWith('"') ? t : `"${t}"`
}

const S3_CODES: Record<string, StorageErrorCode> = {
  NoSuchUpload: 'NoSuchUpload',
  InvalidPart: 'InvalidPart',
  InvalidPartOrder: 'InvalidPartOrder',
  EntityTooSmall: 'EntityTooSmall',
  NoSuchKey: 'NotFound',
  NotFound: 'NotFound',
  MalformedXML: 'InvalidRequest',
  InvalidArgument: 'InvalidRequest',
}

function failText(res: Response, body: string, what: string): never {
  const code = xmlTag(body, 'Code') ?? (res.status === 404 ? 'NotFound' : `HTTP${res.status}`)
  const message = xmlTag(body, 'Message')
  throw new StorageError(S3_CODES[code] ?? 'Backend', `${what}: ${code}${message ? ` (${message})` : ''} [${res.status}]`)
}

async function fail(res: Response, what: string): Promise<never> {
  failText(res, await res.text(), what)
}

function isNotFound(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return code === 'NoSuchKey' || code === 'NotFound' || code === 'ENOENT'
}

function wrapBunError(err: unknown, what: string): StorageError {
  const code = String((err as { code?: unknown } | null)?.code ?? '')
  const message = err instanceof Error ? err.message : String(err)
  return new StorageError(S3_CODES[code] ?? 'Backend', `${what}: ${code || 'error'} (${message})`, { cause: err })
}

function xmlTag(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml)
  return m ? unescapeXml(m[1]!) : undefined
}

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|quot|amp|lt|gt|apos);/g, (_, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10))
    return ({ quot: '"', amp: '&', lt: '<', gt: '>', apos: "'" } as Record<string, string>)[e]!
  })
}

function escapeXml(s: string): string {
  return s.replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]!)
}

/**
 * Gives a stream a known length: small bodies are gathered in memory, larger ones written to a spool file that
 * is sent as a file body (Bun sets Content-Length from its size) and removed afterwards.
 */
async function spool(
  stream: ReadableStream<Uint8Array>,
  dir: string,
): Promise<{ body: Uint8Array | Blob; cleanup: () => Promise<void> }> {
  const reader = stream.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    while (size <= SPOOL_IN_MEMORY) {
      const { done, value } = await reader.read()
      if (done) return { body: Buffer.concat(chunks, size), cleanup: async () => {} }
      chunks.push(value)
      size += value.byteLength
    }
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const path = join(dir, `atcr-part-${randomBytes(12).toString('base64url')}`)
    const fh = await open(path, 'wx', 0o600)
    const cleanup = () => rm(path, { force: true })
    try {
      for (const c of chunks) await writeAll(fh, c)
      chunks.length = 0
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        await writeAll(fh, value)
      }
    } catch (err) {
      await fh.close()
      await cleanup()
      throw err
    }
    await fh.close()
    return { body: Bun.file(path), cleanup }
  } finally {
    reader.releaseLock()
  }
}

async function writeAll(fh: FileHandle, chunk: Uint8Array): Promise<void> {
  let off = 0
  while (off < chunk.byteLength) off += (await fh.write(chunk, off, chunk.byteLength - off)).bytesWritten
}
