import type { Database } from 'bun:sqlite'
import { formatSize } from '../config/units.ts'
import type { WriteInput } from './repo/repo.ts'

export const LAYER = 'io.atcr.hold.layer'

export interface Tier {
  name: string
  quotaBytes: number
  scanOnPush: boolean
}

export interface Usage {
  uniqueBlobs: number
  totalSize: number
}

/**
 * Quota accounting: usage is the total size of the distinct digests across a user's layer records.
 * `layer_index` mirrors the io.atcr.hold.layer records; it is written inside each commit's transaction.
 */
export class QuotaBook {
  constructor(
    private readonly db: Database,
    readonly tiers: Tier[],
    private readonly defaultTier: string | undefined,
  ) {
    db.run(`CREATE TABLE IF NOT EXISTS layer_index (
      rkey TEXT PRIMARY KEY, user_did TEXT NOT NULL, digest TEXT NOT NULL, size INTEGER NOT NULL, manifest TEXT NOT NULL)`)
    db.run('CREATE INDEX IF NOT EXISTS layer_index_user ON layer_index (user_did, digest)')
  }

  /** Commit hook: keeps layer_index equal to the layer records. */
  onCommit(writes: WriteInput[]): void {
    for (const w of writes) {
      if (w.collection !== LAYER) continue
      if (w.action === 'delete') this.db.query('DELETE FROM layer_index WHERE rkey = ?').run(w.rkey)
      else {
        const r = w.record as { userDid: string; digest: string; size: number; manifest: string }
        this.db
          .query('INSERT OR REPLACE INTO layer_index (rkey, user_did, digest, size, manifest) VALUES (?, ?, ?, ?, ?)')
          .run(w.rkey, r.userDid, r.digest, r.size, r.manifest)
      }
    }
  }

  enforced(): boolean {
    return this.tiers.length > 0
  }

  tier(name: string | undefined): Tier | undefined {
    return this.tiers.find((t) => t.name === (name || this.defaultTier))
  }

  usage(did: string): Usage {
    const row = this.db
      .query<{ n: number; total: number | null }, [string]>(
        'SELECT COUNT(*) AS n, SUM(size) AS total FROM (SELECT digest, MAX(size) AS size FROM layer_index WHERE user_did = ? GROUP BY digest)',
      )
      .get(did)!
    return { uniqueBlobs: row.n, totalSize: row.total ?? 0 }
  }

  /** Usage if the given layers were added: digests the user already references count once. */
  usageWith(did: string, layers: { digest: string; size: number }[]): Usage {
    const base = this.usage(did)
    const known = new Set(
      this.db.query<{ digest: string }, [string]>('SELECT DISTINCT digest FROM layer_index WHERE user_did = ?').all(did).map((r) => r.digest),
    )
    const added = new Map<string, number>()
    for (const l of layers) if (!known.has(l.digest)) added.set(l.digest, l.size)
    let extra = 0
    for (const s of added.values()) extra += s
    return { uniqueBlobs: base.uniqueBlobs + added.size, totalSize: base.totalSize + extra }
  }

  /** Whether a (user, manifest, digest) layer record already exists, so re-pushes do not duplicate records. */
  hasLayer(did: string, manifest: string, digest: string): boolean {
    return !!this.db
      .query('SELECT 1 FROM layer_index WHERE user_did = ? AND manifest = ? AND digest = ? LIMIT 1')
      .get(did, manifest, digest)
  }

  listTiers(): { name: string; quotaBytes: number; quotaFormatted: string; scanOnPush: boolean }[] {
    return this.tiers.map((t) => ({ name: t.name, quotaBytes: t.quotaBytes, quotaFormatted: formatSize(t.quotaBytes), scanOnPush: t.scanOnPush }))
  }
}
