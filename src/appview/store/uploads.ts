import type { Database } from 'bun:sqlite'
import { mkdirSync, rmSync } from 'node:fs'
import { appendFile, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from '../../log.ts'
import type { MemoryGovernor } from '../../util/memory-governor.ts'
import type { HoldClient } from './hold-client.ts'

/** Registry error codes an upload can end in; the handlers map them through the OCI error table. */
export type UploadErrorCode = 'BLOB_UPLOAD_UNKNOWN' | 'BLOB_UPLOAD_INVALID' | 'DIGEST_INVALID' | 'SIZE_INVALID' | 'RANGE_INVALID' | 'TOOMANYREQUESTS' | 'DENIED'

export class UploadError extends Error {
  constructor(
    readonly code: UploadErrorCode,
    message: string,
  ) {
    super(message)
  }
}

export interface UploadSession {
  uuid: string
  did: string
  repository: string
  holdDid: string
  /** PDS session that started the upload: service tokens for the hold are minted through it. */
  sid: string
  holdUploadId: string | null
  /** Bytes received so far (the next PATCH must start here). */
  offset: number
  parts: { partNumber: number; etag: string }[]
  createdAt: number
  expiresAt: number
}

/** Mints a hold service token for the upload's user. */
export type HoldToken = (sid: string, holdDid: string, lxm: string) => Promise<string | null>

// initiateUpload wants a digest, but a chunked upload learns its digest only at the end; the hold treats the
// initiation digest as advisory and verifies the one given at completion.
const PLACEHOLDER_DIGEST = `sha256:${'0'.repeat(64)}`
const EMPTY = new Uint8Array(0)

/**
 * Part-sized buffers reused across uploads, so a push of many layers does not leave a trail of part-sized
 * garbage buffers for the GC (RSS stays near the working set). At most `keep` idle buffers are kept.
 */
class BufferPool {
  private readonly free: Uint8Array[] = []
  constructor(
    private readonly size: number,
    private readonly keep: number,
  ) {}
  take(): Uint8Array {
    return this.free.pop() ?? new Uint8Array(this.size)
  }
  give(b: Uint8Array): void {
    if (this.free.length < this.keep && !this.free.includes(b)) this.free.push(b)
  }
}

/**
 * Registry upload sessions streamed into the hold's multipart upload. Bytes are hashed as they pass and cut into
 * parts of `partSize` (>= 5 MiB, the S3 minimum). Only a final partial part is kept between requests: in memory
 * (the part buffer itself) while all such tails fit in `tailMemory`, else spooled to disk. Clients nearly always
 * send the closing PUT right after their last PATCH, so the tail seldom waits long. Session state is in SQLite,
 * bound to its user and repository, expires, and is capped per user; the running hash lives in memory, so a
 * restart invalidates unfinished uploads (clients restart them).
 */
export class RegistryUploads {
  private readonly hashers = new Map<string, Bun.CryptoHasher>()
  private readonly pool: BufferPool
  private readonly busy = new Set<string>()
  /** Partially filled part buffers of uploads between requests, and the memory they hold. */
  private readonly tails = new Map<string, { buf: Uint8Array; filled: number }>()
  private tailBytes = 0

  constructor(
    private readonly db: Database,
    private readonly holds: HoldClient,
    private readonly token: HoldToken,
    private readonly opts: {
      spoolDir: string
      partSize: number
      ttlSeconds: number
      maxPerUser: number
      maxBlobSize: number
      /** Memory for part buffers kept between requests, over all uploads (beyond it, tails go to spoolDir). */
      tailMemory: number
      /** Collects the request chunks already copied out after each part (see MemoryGovernor). */
      memory?: MemoryGovernor
      log: Logger
      /** For part URLs handed out by holds (user-chosen services): the SSRF-guarded fetch. */
      fetch?: typeof fetch
    },
  ) {
    this.pool = new BufferPool(opts.partSize, 2)
    mkdirSync(opts.spoolDir, { recursive: true, mode: 0o700 })
    db.run(`CREATE TABLE IF NOT EXISTS registry_upload (
      uuid TEXT PRIMARY KEY, did TEXT NOT NULL, repository TEXT NOT NULL, hold_did TEXT NOT NULL, sid TEXT NOT NULL,
      hold_upload_id TEXT, offset INTEGER NOT NULL, parts TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL)`)
    db.run('CREATE INDEX IF NOT EXISTS registry_upload_did ON registry_upload (did)')
    // Hash state does not survive a restart: sessions from a previous run cannot be finished.
    for (const row of db.query<{ uuid: string }, []>('SELECT uuid FROM registry_upload').all()) rmSync(this.spoolPath(row.uuid), { force: true })
    db.run('UPDATE registry_upload SET expires_at = 0')
  }

  private spoolPath(uuid: string): string {
    return join(this.opts.spoolDir, uuid)
  }

  create(did: string, repository: string, holdDid: string, sid: string, now = Date.now()): UploadSession {
    const open = this.db.query<{ n: number }, [string, number]>('SELECT COUNT(*) AS n FROM registry_upload WHERE did = ? AND expires_at > ?').get(did, now)!.n
    if (open >= this.opts.maxPerUser) throw new UploadError('TOOMANYREQUESTS', `too many open uploads (limit ${this.opts.maxPerUser})`)
    const s: UploadSession = {
      uuid: crypto.randomUUID(),
      did,
      repository,
      holdDid,
      sid,
      holdUploadId: null,
      offset: 0,
      parts: [],
      createdAt: now,
      expiresAt: now + this.opts.ttlSeconds * 1000,
    }
    this.db
      .query('INSERT INTO registry_upload (uuid, did, repository, hold_did, sid, hold_upload_id, offset, parts, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(s.uuid, did, repository, holdDid, sid, null, 0, '[]', now, s.expiresAt)
    this.hashers.set(s.uuid, new Bun.CryptoHasher('sha256'))
    return s
  }

  /** The session when it exists, is live, and belongs to this user and repository; otherwise BLOB_UPLOAD_UNKNOWN. */
  get(uuid: string, did: string, repository: string, now = Date.now()): UploadSession {
    const r = this.db.query<Record<string, string | number | null>, [string]>('SELECT * FROM registry_upload WHERE uuid = ?').get(uuid)
    if (!r || r.did !== did || r.repository !== repository || (r.expires_at as number) <= now || !this.hashers.has(uuid)) {
      throw new UploadError('BLOB_UPLOAD_UNKNOWN', 'upload unknown to registry')
    }
    return {
      uuid,
      did,
      repository,
      holdDid: r.hold_did as string,
      sid: r.sid as string,
      holdUploadId: r.hold_upload_id as string | null,
      offset: r.offset as number,
      parts: JSON.parse(r.parts as string),
      createdAt: r.created_at as number,
      expiresAt: r.expires_at as number,
    }
  }

  private save(s: UploadSession): void {
    s.expiresAt = Date.now() + this.opts.ttlSeconds * 1000
    this.db
      .query('UPDATE registry_upload SET hold_upload_id = ?, offset = ?, parts = ?, expires_at = ? WHERE uuid = ?')
      .run(s.holdUploadId, s.offset, JSON.stringify(s.parts), s.expiresAt, s.uuid)
  }

  private async holdToken(s: UploadSession, lxm: string): Promise<string> {
    const t = await this.token(s.sid, s.holdDid, lxm)
    if (!t) throw new UploadError('DENIED', 'your session with your PDS has ended; log in again')
    return t
  }

  private async flushPart(s: UploadSession, body: Uint8Array, digestIfKnown?: string): Promise<void> {
    if (!s.holdUploadId) {
      s.holdUploadId = await this.holds.initiateUpload(s.holdDid, await this.holdToken(s, 'io.atcr.hold.initiateUpload'), digestIfKnown ?? PLACEHOLDER_DIGEST)
    }
    const partNumber = s.parts.length + 1
    const target = await this.holds.partUploadUrl(s.holdDid, await this.holdToken(s, 'io.atcr.hold.getPartUploadUrl'), s.holdUploadId, partNumber)
    const res = await (this.opts.fetch ?? fetch)(target.url, { method: target.method || 'PUT', headers: target.headers, body })
    if (!res.ok) {
      throw new Error(`part ${partNumber} upload to hold storage failed: ${res.status} ${(await res.text()).slice(0, 200)}`)
    }
    await res.body?.cancel()
    s.parts.push({ partNumber, etag: res.headers.get('etag') ?? '' })
  }

  /**
   * Appends a request body at `start` (the Content-Range start, when the client sent one). Streams it: the
   * running hash is updated per chunk and each full part goes to the hold as soon as it is complete.
   */
  async append(s: UploadSession, body: ReadableStream<Uint8Array> | null, start?: number, finalDigest?: string): Promise<void> {
    if (this.busy.has(s.uuid)) throw new UploadError('BLOB_UPLOAD_INVALID', 'another request is writing to this upload')
    if (start !== undefined && start !== s.offset) throw new UploadError('RANGE_INVALID', `upload is at offset ${s.offset}, not ${start}`)
    this.busy.add(s.uuid)
    const hasher = this.hashers.get(s.uuid)!
    const partSize = this.opts.partSize
    const held = this.takeTail(s.uuid)
    let buf = held?.buf ?? this.pool.take()
    let filled = held?.filled ?? 0
    // One part may be uploading to the hold while the next fills from the client: reading never waits for
    // the hold except when a second full part is ready before the first has gone.
    let inflight: Promise<void> | null = null
    const sendFull = async () => {
      if (inflight) await inflight
      const full = buf
      inflight = this.flushPart(s, full).finally(() => {
        this.pool.give(full)
        this.opts.memory?.settle()
      })
      inflight.catch(() => {}) // observed by the next await; never an unhandled rejection
      buf = this.pool.take()
      filled = 0
    }
    const copyIn = async (chunk: Uint8Array) => {
      for (let off = 0; off < chunk.byteLength; ) {
        const n = Math.min(chunk.byteLength - off, partSize - filled)
        buf.set(chunk.subarray(off, off + n), filled)
        filled += n
        off += n
        if (filled === partSize) await sendFull()
      }
    }
    try {
      const spooled = held ? null : await readFile(this.spoolPath(s.uuid)).catch(() => null)
      if (spooled) await copyIn(spooled)
      if (body) {
        for await (const chunk of body) {
          if (s.offset + chunk.byteLength > this.opts.maxBlobSize) throw new UploadError('SIZE_INVALID', `blob exceeds ${this.opts.maxBlobSize} bytes`)
          hasher.update(chunk)
          s.offset += chunk.byteLength
          await copyIn(chunk)
        }
      }
      if (inflight) await inflight
      const pending = buf.subarray(0, filled)
      if (spooled) await rm(this.spoolPath(s.uuid), { force: true })
      if (finalDigest === undefined) {
        if (filled && this.tailBytes + buf.byteLength <= this.opts.tailMemory) {
          // The buffer itself becomes the tail; `finally` must not return it to the pool.
          this.tails.set(s.uuid, { buf, filled })
          this.tailBytes += buf.byteLength
          buf = EMPTY
        } else if (filled) {
          await appendFile(this.spoolPath(s.uuid), pending, { mode: 0o600 })
        }
        this.save(s)
        return
      }
      // Last request: the remainder (possibly empty, for an empty blob) is the final part.
      const actual = `sha256:${hasher.copy().digest('hex')}`
      if (actual !== finalDigest) {
        await this.discard(s)
        throw new UploadError('DIGEST_INVALID', `content digest ${actual} does not match ${finalDigest}`)
      }
      if (filled || s.parts.length === 0) await this.flushPart(s, pending, finalDigest)
      await this.holds.completeUpload(s.holdDid, await this.holdToken(s, 'io.atcr.hold.completeUpload'), s.holdUploadId!, finalDigest, s.parts)
      this.forget(s.uuid)
    } catch (err) {
      // A failed request leaves the session unusable: its offset and hash no longer agree with what was stored.
      if (!(err instanceof UploadError && (err.code === 'RANGE_INVALID' || err.code === 'DIGEST_INVALID'))) await this.discard(s)
      throw err
    } finally {
      await (inflight as Promise<void> | null)?.catch(() => {})
      if (buf !== EMPTY) this.pool.give(buf)
      this.busy.delete(s.uuid)
    }
  }

  /** Aborts the hold upload and forgets the session. */
  async discard(s: UploadSession): Promise<void> {
    this.forget(s.uuid)
    if (s.holdUploadId) {
      const t = await this.token(s.sid, s.holdDid, 'io.atcr.hold.abortUpload').catch(() => null)
      if (t) await this.holds.abortUpload(s.holdDid, t, s.holdUploadId).catch((err) => this.opts.log.warn('abortUpload failed', { uuid: s.uuid, err: String(err) }))
    }
  }

  private takeTail(uuid: string): { buf: Uint8Array; filled: number } | undefined {
    const t = this.tails.get(uuid)
    if (!t) return undefined
    this.tails.delete(uuid)
    this.tailBytes -= t.buf.byteLength
    return t
  }

  private forget(uuid: string): void {
    const tail = this.takeTail(uuid)
    if (tail) this.pool.give(tail.buf)
    this.hashers.delete(uuid)
    this.db.query('DELETE FROM registry_upload WHERE uuid = ?').run(uuid)
    rmSync(this.spoolPath(uuid), { force: true })
  }

  /** Aborts expired sessions' hold uploads; run periodically. */
  async sweep(now = Date.now()): Promise<number> {
    const rows = this.db.query<{ uuid: string; did: string; repository: string }, [number]>('SELECT uuid, did, repository FROM registry_upload WHERE expires_at <= ? LIMIT 100').all(now)
    for (const r of rows) {
      const full = this.db.query<Record<string, string | number | null>, [string]>('SELECT * FROM registry_upload WHERE uuid = ?').get(r.uuid)
      if (!full) continue
      await this.discard({
        uuid: r.uuid,
        did: r.did,
        repository: r.repository,
        holdDid: full.hold_did as string,
        sid: full.sid as string,
        holdUploadId: full.hold_upload_id as string | null,
        offset: 0,
        parts: [],
        createdAt: 0,
        expiresAt: 0,
      })
    }
    return rows.length
  }
}
