import type { Database } from 'bun:sqlite'
import { Lru } from '../../util/lru.ts'

/**
 * What this AppView has seen of the network: which hold holds a repository's blobs (from manifest records'
 * holdDid) and which repositories exist (for the catalog). A rebuildable cache: the records in the users'
 * PDSes stay the source of truth.
 */
export class RegistryIndex {
  /** What was written recently, so repeated pulls of the same manifest do not write SQLite each time. */
  private readonly noted = new Lru<string, true>({ maxEntries: 50_000, ttlMs: 10 * 60_000 })

  constructor(private readonly db: Database) {
    db.run(`CREATE TABLE IF NOT EXISTS blob_location (
      did TEXT NOT NULL, repository TEXT NOT NULL, digest TEXT NOT NULL, hold_did TEXT NOT NULL, seen_at INTEGER NOT NULL,
      PRIMARY KEY (did, repository, digest))`)
    db.run(`CREATE TABLE IF NOT EXISTS repository (
      name TEXT PRIMARY KEY, did TEXT NOT NULL, repository TEXT NOT NULL, updated_at INTEGER NOT NULL)`)
  }

  /** Records where a manifest's blobs live (on push and on pull). */
  noteManifest(did: string, name: string, repository: string, holdDid: string | undefined, blobDigests: string[]): void {
    const key = `${name}\0${holdDid}\0${blobDigests.join(',')}`
    if (this.noted.get(key)) return
    this.noted.set(key, true)
    const now = Date.now()
    this.db.transaction(() => {
      this.db
        .query('INSERT INTO repository (name, did, repository, updated_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(name) DO UPDATE SET did = ?2, updated_at = ?4')
        .run(name, did, repository, now)
      if (!holdDid) return
      const q = this.db.query(
        'INSERT INTO blob_location (did, repository, digest, hold_did, seen_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(did, repository, digest) DO UPDATE SET hold_did = ?4, seen_at = ?5',
      )
      for (const d of blobDigests) q.run(did, repository, d, holdDid, now)
    })()
  }

  holdFor(did: string, repository: string, digest: string): string | null {
    return (
      this.db
        .query<{ hold_did: string }, [string, string, string]>('SELECT hold_did FROM blob_location WHERE did = ? AND repository = ? AND digest = ?')
        .get(did, repository, digest)?.hold_did ?? null
    )
  }

  /** Repository names in lexical order after `last`, for `/v2/_catalog`. */
  catalog(n: number, last?: string): string[] {
    return this.db
      .query<{ name: string }, [string, number]>('SELECT name FROM repository WHERE name > ? ORDER BY name LIMIT ?')
      .all(last ?? '', n)
      .map((r) => r.name)
  }

  forgetBlob(did: string, repository: string, digest: string): void {
    this.noted.deleteWhere((k) => k.includes(digest))
    this.db.query('DELETE FROM blob_location WHERE did = ? AND repository = ? AND digest = ?').run(did, repository, digest)
  }

  forgetRepository(name: string): void {
    this.noted.deleteWhere((k) => k.startsWith(`${name}\0`))
    this.db.query('DELETE FROM repository WHERE name = ?').run(name)
  }
}
