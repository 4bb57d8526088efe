import type { Database } from 'bun:sqlite'

/** One in-progress multipart upload, bound to the user who started it. */
export interface UploadSession {
  id: string
  did: string
  digest: string
  key: string
  storageUploadId: string
  createdAt: number
  expiresAt: number
}

export class UploadLimitError extends Error {}

/**
 * Upload sessions in SQLite, so a hold restart does not orphan multipart uploads: each is bound to its
 * creator's DID, expires, and is capped per user. Expired sessions are handed to `sweep` for aborting.
 */
export class UploadSessions {
  constructor(
    private readonly db: Database,
    private readonly opts: { ttlSeconds: number; maxPerUser: number },
  ) {
    db.run(`CREATE TABLE IF NOT EXISTS upload_session (
      id TEXT PRIMARY KEY, did TEXT NOT NULL, digest TEXT NOT NULL, key TEXT NOT NULL,
      storage_upload_id TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL)`)
    db.run('CREATE INDEX IF NOT EXISTS upload_session_did ON upload_session (did)')
    db.run('CREATE INDEX IF NOT EXISTS upload_session_expires ON upload_session (expires_at)')
  }

  /** A fresh, unguessable upload id (the AppView sees it; the storage backend's own id stays private). */
  static newId(): string {
    return Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString('base64url')
  }

  create(s: Omit<UploadSession, 'createdAt' | 'expiresAt'>, now = Date.now()): UploadSession {
    const session = { ...s, createdAt: now, expiresAt: now + this.opts.ttlSeconds * 1000 }
    this.db.transaction(() => {
      const open = this.db
        .query<{ n: number }, [string, number]>('SELECT COUNT(*) AS n FROM upload_session WHERE did = ? AND expires_at > ?')
        .get(s.did, now)!.n
      if (open >= this.opts.maxPerUser) throw new UploadLimitError(`too many open uploads (limit ${this.opts.maxPerUser}); finish or abort some`)
      this.db
        .query('INSERT INTO upload_session (id, did, digest, key, storage_upload_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(session.id, session.did, session.digest, session.key, session.storageUploadId, session.createdAt, session.expiresAt)
    }).immediate()
    return session
  }

  /** The session if it exists, is unexpired and belongs to `did`; otherwise null (callers answer InvalidUploadId). */
  get(id: string, did: string, now = Date.now()): UploadSession | null {
    const row = this.db
      .query<Record<string, string | number>, [string]>('SELECT * FROM upload_session WHERE id = ?')
      .get(id)
    if (!row || row.did !== did || (row.expires_at as number) <= now) return null
    return toSession(row)
  }

  delete(id: string): void {
    this.db.query('DELETE FROM upload_session WHERE id = ?').run(id)
  }

  /** Removes and returns expired sessions, so the caller can abort their storage uploads. */
  takeExpired(now = Date.now(), limit = 100): UploadSession[] {
    const rows = this.db
      .query<Record<string, string | number>, [number, number]>('SELECT * FROM upload_session WHERE expires_at <= ? LIMIT ?')
      .all(now, limit)
    for (const r of rows) this.delete(r.id as string)
    return rows.map(toSession)
  }
}

function toSession(r: Record<string, string | number>): UploadSession {
  return {
    id: r.id as string,
    did: r.did as string,
    digest: r.digest as string,
    key: r.key as string,
    storageUploadId: r.storage_upload_id as string,
    createdAt: r.created_at as number,
    expiresAt: r.expires_at as number,
  }
}
