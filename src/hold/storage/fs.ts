/**
 * The embedded storage driver: objects are plain files under a data directory, and the hold itself serves the
 * URLs this driver hands out (DESIGN.md §6). Those URLs carry an HMAC signature and an expiry so the AppView and
 * clients follow exactly the same redirect-to-storage flow as with S3.
 *
 * Layout under rootDir:
 *   <key>                              finished objects, at their key path
 *   _multipart/<uploadId>/key          the key an upload was started for (uploads are bound to one key, as on S3)
 *   _multipart/<uploadId>/<n>          stored part n
 *   _tmp/<random>                      files being written; renamed into place when complete, so readers never
 *                                      see a partial object or part
 * `_multipart` and `_tmp` are reserved: keys may not start with them and `list` never shows them.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { writeSync } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { mkdir, open, readFile, readdir, rename, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises'
import { dirname, join, resolve, sep } from 'node:path'
import type { CompletedPart, PartUrl, StorageDriver } from './driver.ts'
import { MAX_PART_NUMBER, MIN_PART_NUMBER } from './driver.ts'
import { StorageError } from './errors.ts'

export interface FsDriverOptions {
  /** Directory holding the objects; created on first write. */
  rootDir: string
  /** Base URL the hold is reachable at, e.g. `https://hold.example.com`; signed URLs point at its `/_storage/*`. */
  publicUrl: string
  /** HMAC key for signed URLs. Anyone holding it can mint URLs, so it must stay private to the hold. */
  secret: Uint8Array
  /**
   * Smallest size for every part but the last, checked at completion. 0 (the default) accepts any size; set it to
   * 5 MiB to reproduce S3's EntityTooSmall locally.
   */
  minPartSize?: number
  /** Largest part accepted by putPart and signed part URLs; larger bodies are cut off with EntityTooLarge. */
  maxPartSize?: number
}

/** The appended prefix of an upload: parts 1..next-1 in `data`, `size` bytes, `sha` over exactly those. */
interface AppendRun {
  next: number
  size: number
  /** Null when the state was rebuilt after a restart: completion then hashes the file once. */
  sha: Bun.CryptoHasher | null
  busy: boolean
}

const DATA_FILE = 'data'
const MULTIPART_DIR = '_multipart'
const TMP_DIR = '_tmp'
const RESERVED_TOP = new Set([MULTIPART_DIR, TMP_DIR])
const UPLOAD_ID = /^[A-Za-z0-9_-]{8,128}$/
const KEY_FILE = 'key'
// S3's own key length limit; longer keys would also run into file-system name limits.
const MAX_KEY_BYTES = 1024
const DIR_MODE = 0o700
const FILE_MODE = 0o600

export class FsDriver implements StorageDriver {
  readonly name = 'fs' as const
  private readonly root: string
  private readonly publicUrl: string
  private readonly secret: Uint8Array
  private readonly minPartSize: number
  private readonly maxPartSize: number
  /** Uploads whose parts arrive in order are appended to one file, hashed as they land (see putPart). */
  private readonly running = new Map<string, AppendRun>()

  constructor(opts: FsDriverOptions) {
    if (opts.secret.byteLength < 16) throw new Error('fs driver: secret must be at least 16 bytes')
    this.root = resolve(opts.rootDir)
    this.publicUrl = opts.publicUrl.replace(/\/+$/, '')
    this.secret = opts.secret
    this.minPartSize = opts.minPartSize ?? 0
    this.maxPartSize = opts.maxPartSize ?? 5 * 2 ** 30
  }

  // ---- objects ----

  async stat(key: string): Promise<{ size: number } | null> {
    const st = await statFile(this.pathOf(key))
    return st ? { size: st.size } : null
  }

  async read(key: string): Promise<ReadableStream<Uint8Array> | null> {
    const path = this.pathOf(key)
    if (!(await statFile(path))) return null
    return Bun.file(path).stream()
  }

  async write(key: string, data: Uint8Array | ReadableStream<Uint8Array>): Promise<void> {
    const path = this.pathOf(key)
    const tmp = await this.writeTemp(data)
    await this.place(tmp.path, path)
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key)
    try {
      await unlink(path)
    } catch (err) {
      // Missing keys are fine; a directory at that path is not an object either.
      if (!hasCode(err, 'ENOENT', 'EISDIR', 'EPERM', 'ENOTDIR')) throw err
      return
    }
    await this.pruneDirs(dirname(path))
  }

  async move(from: string, to: string): Promise<void> {
    const src = this.pathOf(from)
    const dst = this.pathOf(to)
    if (!(await statFile(src))) throw new StorageError('NotFound', `no object at ${from}`)
    if (src === dst) return
    await this.place(src, dst, false)
    await this.pruneDirs(dirname(src))
  }

  async *list(prefix: string): AsyncIterable<{ key: string; size: number }> {
    yield* this.walk('', prefix)
  }

  // ---- multipart ----

  async createMultipart(key: string): Promise<string> {
    this.pathOf(key)
    const uploadId = randomBytes(24).toString('base64url')
    const dir = this.uploadDir(uploadId)
    await mkdir(dir, { recursive: true, mode: DIR_MODE })
    await writeFile(join(dir, KEY_FILE), key, { mode: FILE_MODE })
    return uploadId
  }

  async partUrl(key: string, uploadId: string, partNumber: number, ttlSeconds: number): Promise<PartUrl> {
    this.pathOf(key)
    checkPartNumber(partNumber)
    if (!UPLOAD_ID.test(uploadId)) throw new StorageError('NoSuchUpload', `no upload ${uploadId}`)
    const exp = expiry(ttlSeconds)
    const params = { key, upload: uploadId, part: String(partNumber), exp: String(exp) }
    const sig = this.sign(['part', 'PUT', key, uploadId, String(partNumber), String(exp)])
    return { url: this.url('part', { ...params, sig }), method: 'PUT' }
  }

  async putPart(
    key: string,
    uploadId: string,
    partNumber: number,
    body: ReadableStream<Uint8Array> | Uint8Array,
  ): Promise<string> {
    this.pathOf(key)
    checkPartNumber(partNumber)
    const dir = await this.openUpload(key, uploadId)
    const etag = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('hex')
    // Parts nearly always arrive in order (1, 2, 3…, one at a time): those are appended straight to the upload's
    // `data` file and hashed as they land, so completion is a rename. Anything else (out of order, concurrent,
    // re-sent) is stored as its own file and assembled at completion. The etag names the stored copy (S3 only
    // echoes it back) and is part of a file name, so completion checks it by name.
    const run = await this.runFor(uploadId, dir)
    if (partNumber === run.next && !run.busy) {
      run.busy = true
      try {
        const size = await this.appendPart(join(dir, DATA_FILE), run, body)
        await writeFile(join(dir, `${partNumber}-${etag}.${run.size}.${size}.in`), '', { mode: FILE_MODE })
        await this.dropOtherCopies(dir, partNumber, `${partNumber}-${etag}.`)
        run.size += size
        run.next++
      } catch (err) {
        if (hasCode(err, 'ENOENT')) throw new StorageError('NoSuchUpload', `no upload ${uploadId}`)
        throw err
      } finally {
        run.busy = false
      }
      return `"${etag}"`
    }
    const tmp = await this.writeTemp(body, undefined, this.maxPartSize)
    const name = `${partNumber}-${etag}`
    try {
      await rename(tmp.path, join(dir, name))
    } catch (err) {
      await rm(tmp.path, { force: true })
      // The upload was aborted or completed while this part was streaming in.
      if (hasCode(err, 'ENOENT')) throw new StorageError('NoSuchUpload', `no upload ${uploadId}`)
      throw err
    }
    await this.dropOtherCopies(dir, partNumber, name)
    return `"${etag}"`
  }

  /**
   * In-memory state of an upload's appended prefix. An upload that already has a `data` file this process does
   * not know (a restart) takes no more appends: later parts are stored as files, and its hash is computed once.
   */
  private async runFor(uploadId: string, dir: string): Promise<AppendRun> {
    let run = this.running.get(uploadId)
    if (!run) {
      const existing = await statFile(join(dir, DATA_FILE))
      run = existing
        ? { next: Number.POSITIVE_INFINITY, size: existing.size, sha: null, busy: false }
        : { next: 1, size: 0, sha: new Bun.CryptoHasher('sha256'), busy: false }
      this.running.set(uploadId, run)
      if (this.running.size > 10_000) this.running.delete(this.running.keys().next().value!)
    }
    return run
  }

  /** Streams a part onto the end of `data`, hashing it; on failure `data` is cut back to where it was. */
  private async appendPart(path: string, run: AppendRun, body: ReadableStream<Uint8Array> | Uint8Array): Promise<number> {
    const sha = run.sha!.copy()
    const fh = await open(path, run.size === 0 ? 'w' : 'r+', FILE_MODE)
    let pos = run.size
    try {
      const chunks = body instanceof Uint8Array ? [body] : body
      for await (const chunk of chunks) {
        if (pos - run.size + chunk.byteLength > this.maxPartSize) throw new StorageError('EntityTooLarge', `body exceeds ${this.maxPartSize} bytes`)
        sha.update(chunk)
        // Synchronous writes into the page cache: a chunk takes microseconds, and measured against an async
        // write per chunk (a thread-pool round trip each) or a writev per 1 MiB batch, this costs the hold the
        // least CPU per GiB (bench/hold.ts). Under heavy writeback throttling it blocks the event loop briefly.
        for (let off = 0; off < chunk.byteLength; ) {
          const bytesWritten = writeSync(fh.fd, chunk, off, chunk.byteLength - off, pos)
          off += bytesWritten
          pos += bytesWritten
        }
      }
      run.sha = sha
      return pos - run.size
    } catch (err) {
      await fh.truncate(run.size).catch(() => {})
      throw err
    } finally {
      await fh.close()
    }
  }

  /** A re-sent part replaces every earlier copy of that part number. */
  private async dropOtherCopies(dir: string, partNumber: number, keepPrefix: string): Promise<void> {
    for (const f of await readdir(dir).catch(() => [] as string[])) {
      if (f.startsWith(`${partNumber}-`) && !f.startsWith(keepPrefix)) await rm(join(dir, f), { force: true })
    }
  }

  async completeMultipart(key: string, uploadId: string, parts: CompletedPart[]): Promise<{ sha256: string }> {
    const target = this.pathOf(key)
    const dir = await this.openUpload(key, uploadId)
    if (parts.length === 0) throw new StorageError('InvalidRequest', 'a completed upload needs at least one part')
    let prev = 0
    for (const part of parts) {
      checkPartNumber(part.partNumber)
      if (part.partNumber <= prev) throw new StorageError('InvalidPartOrder', 'part numbers must be ascending')
      prev = part.partNumber
    }
    const names = await readdir(dir)
    const sources: { file: string; offset: number; size: number }[] = []
    for (const [i, part] of parts.entries()) {
      const etag = normalizeEtag(part.etag)
      const prefix = `${part.partNumber}-${etag}`
      let src: (typeof sources)[number] | undefined
      if (/^[0-9a-f]{32}$/.test(etag)) {
        const inline = names.map((n) => new RegExp(`^${prefix}\\.(\\d+)\\.(\\d+)\\.in$`).exec(n)).find(Boolean)
        if (inline) src = { file: join(dir, DATA_FILE), offset: Number(inline[1]), size: Number(inline[2]) }
        else if (names.includes(prefix)) src = { file: join(dir, prefix), offset: 0, size: (await statFile(join(dir, prefix)))!.size }
      }
      if (!src) throw new StorageError('InvalidPart', `part ${part.partNumber} of upload ${uploadId} with etag ${part.etag} was not stored`)
      if (i < parts.length - 1 && src.size < this.minPartSize) {
        throw new StorageError('EntityTooSmall', `part ${part.partNumber} is ${src.size} bytes, below the minimum`)
      }
      sources.push(src)
    }

    const run = this.running.get(uploadId)
    const dataSize = (await statFile(join(dir, DATA_FILE)))?.size ?? -1
    // Fast path: the listed parts are exactly the appended prefix, so `data` is the object.
    const whole = sources.every((src, i) => src.file.endsWith(DATA_FILE) && src.offset === (i === 0 ? 0 : sources[i - 1]!.offset + sources[i - 1]!.size)) &&
      sources.reduce((a, src) => a + src.size, 0) === dataSize
    if (whole) {
      const sha256 = run?.sha && run.size === dataSize ? `sha256:${run.sha.copy().digest('hex')}` : await hashFile(join(dir, DATA_FILE))
      await this.place(join(dir, DATA_FILE), target, false)
      await rm(dir, { recursive: true, force: true })
      this.running.delete(uploadId)
      return { sha256 }
    }

    // General path: assemble the listed ranges in a temp file, hashing as it goes; a failure discards the temp
    // file and leaves the upload intact for a corrected retry.
    const tmpPath = await this.tempPath()
    const fh = await open(tmpPath, 'wx', FILE_MODE)
    const sha = new Bun.CryptoHasher('sha256')
    try {
      for (const src of sources) {
        for await (const chunk of Bun.file(src.file).slice(src.offset, src.offset + src.size).stream()) {
          sha.update(chunk)
          await writeAll(fh, chunk)
        }
      }
    } catch (err) {
      await fh.close()
      await rm(tmpPath, { force: true })
      throw err
    }
    await fh.close()
    await this.place(tmpPath, target)
    await rm(dir, { recursive: true, force: true })
    this.running.delete(uploadId)
    return { sha256: `sha256:${sha.digest('hex')}` }
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    this.pathOf(key)
    let dir: string
    try {
      dir = await this.openUpload(key, uploadId)
    } catch (err) {
      if (err instanceof StorageError && err.code === 'NoSuchUpload') return
      throw err
    }
    this.running.delete(uploadId)
    await rm(dir, { recursive: true, force: true })
  }

  // ---- signed URLs ----

  async getUrl(key: string, ttlSeconds: number, method: 'GET' | 'HEAD' = 'GET'): Promise<string> {
    this.pathOf(key)
    const exp = String(expiry(ttlSeconds))
    const sig = this.sign(['blob', method, key, exp])
    return this.url('blob', { key, exp, m: method, sig })
  }

  /**
   * Serves `/_storage/blob` (GET/HEAD) and `/_storage/part` (PUT) for URLs minted by getUrl/partUrl.
   *
   * The signature binds the route, method, key, upload, part and expiry. One deliberate difference from S3: a
   * GET-signed blob URL also answers HEAD (it reveals nothing GET would not), while a HEAD-signed URL answers
   * HEAD only. Clients written against S3 never rely on either, so this only makes the fs driver more lenient.
   */
  async handle(req: Request): Promise<Response> {
    const url = new URL(req.url)
    if (url.pathname.endsWith('/_storage/blob')) return this.serveBlob(req, url)
    if (url.pathname.endsWith('/_storage/part')) return this.servePart(req, url)
    return s3Error(404, 'NotFound', 'no such storage route', req.method)
  }

  /** The name driver.ts's documentation uses for `handle`. */
  serveSigned(req: Request): Promise<Response> {
    return this.handle(req)
  }

  private async serveBlob(req: Request, url: URL): Promise<Response> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return s3Error(405, 'MethodNotAllowed', 'GET or HEAD only', req.method)
    const q = params(url, ['key', 'exp', 'm', 'sig'])
    if (!q) return s3Error(403, 'AccessDenied', 'missing signature parameters', req.method)
    if (q.m !== 'GET' && q.m !== 'HEAD') return s3Error(403, 'AccessDenied', 'bad method parameter', req.method)
    const denied = this.verify(['blob', q.m, q.key, q.exp], q.exp, q.sig)
    if (denied) return s3Error(403, denied.code, denied.message, req.method)
    if (req.method === 'GET' && q.m !== 'GET') {
      return s3Error(403, 'SignatureDoesNotMatch', 'URL was signed for HEAD', req.method)
    }

    let path: string
    try {
      path = this.pathOf(q.key)
    } catch {
      return s3Error(400, 'InvalidKey', 'bad key', req.method)
    }
    const st = await statFile(path)
    if (!st) return s3Error(404, 'NoSuchKey', 'no such object', req.method)

    const headers: Record<string, string> = {
      'Content-Type': 'application/octet-stream',
      'Accept-Ranges': 'bytes',
      'Cache-Control': 'private, no-store',
    }
    const range = parseRange(req.headers.get('range'), st.size)
    if (range === 'unsatisfiable') {
      return new Response(null, { status: 416, headers: { ...headers, 'Content-Range': `bytes */${st.size}` } })
    }
    if (req.method === 'HEAD') {
      return new Response(null, { status: 200, headers: { ...headers, 'Content-Length': String(st.size) } })
    }
    const file = Bun.file(path)
    if (range) {
      headers['Content-Range'] = `bytes ${range.start}-${range.end}/${st.size}`
      headers['Content-Length'] = String(range.end - range.start + 1)
      return new Response(file.slice(range.start, range.end + 1), { status: 206, headers })
    }
    headers['Content-Length'] = String(st.size)
    return new Response(file, { status: 200, headers })
  }

  private async servePart(req: Request, url: URL): Promise<Response> {
    if (req.method !== 'PUT') return s3Error(405, 'MethodNotAllowed', 'PUT only', req.method)
    const q = params(url, ['key', 'upload', 'part', 'exp', 'sig'])
    if (!q) return s3Error(403, 'AccessDenied', 'missing signature parameters', req.method)
    const denied = this.verify(['part', 'PUT', q.key, q.upload, q.part, q.exp], q.exp, q.sig)
    if (denied) return s3Error(403, denied.code, denied.message, req.method)
    try {
      const etag = await this.putPart(q.key, q.upload, Number(q.part), req.body ?? new Uint8Array())
      return new Response(null, { status: 200, headers: { ETag: etag } })
    } catch (err) {
      if (err instanceof StorageError) {
        const status = err.code === 'NoSuchUpload' ? 404 : err.code === 'EntityTooLarge' ? 413 : 400
        return s3Error(status, err.code, err.message, req.method)
      }
      throw err
    }
  }

  private sign(fields: string[]): string {
    // JSON framing keeps the canonical string unambiguous whatever characters the fields hold.
    return createHmac('sha256', this.secret).update(JSON.stringify(['atcr-fs-v1', ...fields])).digest('base64url')
  }

  private verify(fields: string[], exp: string, sig: string): { code: string; message: string } | null {
    const want = Buffer.from(this.sign(fields), 'base64url')
    const got = Buffer.from(sig, 'base64url')
    if (got.length !== want.length || !timingSafeEqual(got, want)) {
      return { code: 'SignatureDoesNotMatch', message: 'signature does not match' }
    }
    // Checked after the signature so an unsigned request learns nothing about expiry handling.
    if (!/^\d{1,12}$/.test(exp) || Number(exp) < Math.floor(Date.now() / 1000)) {
      return { code: 'AccessDenied', message: 'Request has expired' }
    }
    return null
  }

  private url(route: 'blob' | 'part', query: Record<string, string>): string {
    return `${this.publicUrl}/_storage/${route}?${new URLSearchParams(query)}`
  }

  // ---- paths ----

  /** The file for `key`, refusing anything that is not a plain relative path inside rootDir. */
  private pathOf(key: string): string {
    if (typeof key !== 'string' || key.length === 0) throw badKey(key, 'empty')
    if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw badKey(key, 'too long')
    // Control characters (NUL above all) and backslashes mean something else to the OS than to S3.
    if (/[\x00-\x1f\x7f\\]/.test(key)) throw badKey(key, 'control character or backslash')
    if (key.startsWith('/')) throw badKey(key, 'absolute')
    const segments = key.split('/')
    for (const s of segments) {
      if (s === '' || s === '.' || s === '..') throw badKey(key, 'not normalized')
    }
    if (RESERVED_TOP.has(segments[0]!)) throw badKey(key, 'reserved prefix')
    const path = resolve(this.root, key)
    // Belt and braces: whatever the checks above missed must still land inside rootDir.
    if (!path.startsWith(this.root + sep)) throw badKey(key, 'outside the data directory')
    return path
  }

  private uploadDir(uploadId: string): string {
    return join(this.root, MULTIPART_DIR, uploadId)
  }

  /** The directory of an upload started for `key`; NoSuchUpload when unknown, finished, or for another key. */
  private async openUpload(key: string, uploadId: string): Promise<string> {
    if (!UPLOAD_ID.test(uploadId)) throw new StorageError('NoSuchUpload', `no upload ${uploadId}`)
    const dir = this.uploadDir(uploadId)
    let owner: string
    try {
      owner = await readFile(join(dir, KEY_FILE), 'utf8')
    } catch (err) {
      if (hasCode(err, 'ENOENT')) throw new StorageError('NoSuchUpload', `no upload ${uploadId}`)
      throw err
    }
    if (owner !== key) throw new StorageError('NoSuchUpload', `upload ${uploadId} is not for ${key}`)
    return dir
  }

  private async tempPath(): Promise<string> {
    const dir = join(this.root, TMP_DIR)
    await mkdir(dir, { recursive: true, mode: DIR_MODE })
    return join(dir, randomBytes(12).toString('base64url'))
  }

  /** Streams `data` into a fresh temp file (never buffering it whole), optionally hashing it on the way. */
  private async writeTemp(
    data: Uint8Array | ReadableStream<Uint8Array>,
    hasher?: Bun.CryptoHasher,
    limit = Number.POSITIVE_INFINITY,
  ): Promise<{ path: string }> {
    const tooLarge = () => new StorageError('EntityTooLarge', `body exceeds ${limit} bytes`)
    if (data instanceof Uint8Array && data.byteLength > limit) throw tooLarge()
    const path = await this.tempPath()
    const fh = await open(path, 'wx', FILE_MODE)
    try {
      if (data instanceof Uint8Array) {
        hasher?.update(data)
        await writeAll(fh, data)
      } else {
        let total = 0
        for await (const chunk of data) {
          total += chunk.byteLength
          if (total > limit) throw tooLarge()
          hasher?.update(chunk)
          await writeAll(fh, chunk)
        }
      }
    } catch (err) {
      await fh.close()
      await rm(path, { force: true })
      throw err
    }
    await fh.close()
    return { path }
  }

  /** Renames `from` onto `to`, creating parent directories. A temp `from` is discarded when `to` is unusable. */
  private async place(from: string, to: string, fromIsTemp = true): Promise<void> {
    // A concurrent delete may prune the freshly created parent before the rename lands: recreate and retry.
    for (let attempt = 0; ; attempt++) {
      try {
        await mkdir(dirname(to), { recursive: true, mode: DIR_MODE })
        await rename(from, to)
        return
      } catch (err) {
        if (hasCode(err, 'ENOENT') && attempt < 3 && (await statFile(from))) continue
        if (hasCode(err, 'ENOTDIR', 'EISDIR', 'EEXIST')) {
          if (fromIsTemp) await rm(from, { force: true }).catch(() => {})
          // A file cannot be both an object and a directory of objects, unlike an S3 key.
          throw new StorageError('InvalidKey', `${to.slice(this.root.length + 1)} conflicts with an existing object`)
        }
        throw err
      }
    }
  }

  /** Removes directories left empty by a delete, up to (not including) rootDir, so the tree does not grow forever. */
  private async pruneDirs(dir: string): Promise<void> {
    while (dir.startsWith(this.root + sep)) {
      try {
        await rmdir(dir)
      } catch {
        return
      }
      dir = dirname(dir)
    }
  }

  /** Depth-first walk yielding keys in byte-wise lexical order, descending only where `prefix` can match. */
  private async *walk(rel: string, prefix: string): AsyncGenerator<{ key: string; size: number }> {
    let entries
    try {
      entries = await readdir(rel ? join(this.root, rel) : this.root, { withFileTypes: true })
    } catch (err) {
      if (hasCode(err, 'ENOENT', 'ENOTDIR')) return
      throw err
    }
    // A directory sorts as "name/": every key below it shares that prefix, so sibling order matches key order.
    const items = entries
      .filter((e) => e.isFile() || e.isDirectory())
      .filter((e) => rel !== '' || !RESERVED_TOP.has(e.name))
      .map((e) => ({ name: e.name, dir: e.isDirectory(), sortKey: Buffer.from(e.isDirectory() ? `${e.name}/` : e.name) }))
      .sort((a, b) => Buffer.compare(a.sortKey, b.sortKey))
    for (const item of items) {
      const key = rel ? `${rel}/${item.name}` : item.name
      if (item.dir) {
        const dirPrefix = `${key}/`
        if (dirPrefix.startsWith(prefix) || prefix.startsWith(dirPrefix)) yield* this.walk(key, prefix)
      } else if (key.startsWith(prefix)) {
        const st = await statFile(join(this.root, key))
        if (st) yield { key, size: st.size }
      }
    }
  }
}

function checkPartNumber(n: number): void {
  if (!Number.isInteger(n) || n < MIN_PART_NUMBER || n > MAX_PART_NUMBER) {
    throw new StorageError('InvalidRequest', `part number ${n} outside ${MIN_PART_NUMBER}..${MAX_PART_NUMBER}`)
  }
}

function expiry(ttlSeconds: number): number {
  if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) throw new StorageError('InvalidRequest', `bad ttl ${ttlSeconds}`)
  return Math.floor(Date.now() / 1000) + Math.ceil(ttlSeconds)
}

function badKey(key: string, why: string): StorageError {
  return new StorageError('InvalidKey', `invalid storage key ${JSON.stringify(key)}: ${why}`)
}

function normalizeEtag(etag: string): string {
  return etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '').toLowerCase()
}

function params<K extends string>(url: URL, names: K[]): Record<K, string> | null {
  const out = {} as Record<K, string>
  for (const n of names) {
    const v = url.searchParams.get(n)
    if (v === null) return null
    out[n] = v
  }
  return out
}

/** S3-style error document, so clients that log S3 errors show something familiar. */
function s3Error(status: number, code: string, message: string, method: string): Response {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error>`
  return new Response(method === 'HEAD' ? null : body, { status, headers: { 'Content-Type': 'application/xml' } })
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/** A single `bytes=` range; null means "serve everything" (absent, malformed or multi-range, as RFC 9110 allows). */
function parseRange(header: string | null, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  if (!header) return null
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (!m || (m[1] === '' && m[2] === '')) return null
  let start: number
  let end: number
  if (m[1] === '') {
    const suffix = Number(m[2])
    if (suffix === 0) return 'unsatisfiable'
    start = Math.max(0, size - suffix)
    end = size - 1
  } else {
    start = Number(m[1])
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)
    if (end < start && m[2] !== '') return null
  }
  if (start >= size) return 'unsatisfiable'
  return { start, end }
}

async function writeAll(fh: FileHandle, chunk: Uint8Array): Promise<void> {
  let off = 0
  while (off < chunk.byteLength) {
    const { bytesWritten } = await fh.write(chunk, off, chunk.byteLength - off)
    off += bytesWritten
  }
}

async function hashFile(path: string): Promise<string> {
  const h = new Bun.CryptoHasher('sha256')
  for await (const chunk of Bun.file(path).stream()) h.update(chunk)
  return `sha256:${h.digest('hex')}`
}

async function statFile(path: string): Promise<{ size: number } | null> {
  try {
    const st = await stat(path)
    return st.isFile() ? { size: st.size } : null
  } catch (err) {
    if (hasCode(err, 'ENOENT', 'ENOTDIR')) return null
    throw err
  }
}

function hasCode(err: unknown, ...codes: string[]): boolean {
  return typeof err === 'object' && err !== null && codes.includes((err as { code?: string }).code ?? '')
}
