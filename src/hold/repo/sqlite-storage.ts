import type { Database } from 'bun:sqlite'
import { BlockMap, ReadableBlockstore, type CommitData, type RepoStorage } from '@atproto/repo'
import { parseCid, type Cid } from '@atproto/lex-data'

/**
 * A carstore for `@atproto/repo` in bun:sqlite: content-addressed blocks plus the current root, for one repo
 * (the hold's own). `applyCommit` is one transaction, so a crash never leaves a root pointing at missing blocks.
 */
export class SqliteRepoStorage extends ReadableBlockstore implements RepoStorage {
  private readonly qGetRoot
  private readonly qGetBlock
  private readonly qHasBlock
  private readonly qPutBlock
  private readonly qDelBlock
  private readonly qSetRoot

  constructor(
    private readonly db: Database,
    private readonly did: string,
  ) {
    super()
    migrate(db)
    this.qGetRoot = db.query<{ cid: string; rev: string }, [string]>('SELECT cid, rev FROM repo_root WHERE did = ?')
    this.qGetBlock = db.query<{ content: Uint8Array }, [string]>('SELECT content FROM repo_block WHERE cid = ?')
    this.qHasBlock = db.query<{ one: number }, [string]>('SELECT 1 AS one FROM repo_block WHERE cid = ?')
    this.qPutBlock = db.query('INSERT OR IGNORE INTO repo_block (cid, repo_rev, size, content) VALUES (?, ?, ?, ?)')
    this.qDelBlock = db.query('DELETE FROM repo_block WHERE cid = ?')
    this.qSetRoot = db.query(
      'INSERT INTO repo_root (did, cid, rev, indexed_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(did) DO UPDATE SET cid = ?2, rev = ?3, indexed_at = ?4',
    )
  }

  async getRoot(): Promise<Cid | null> {
    const row = this.qGetRoot.get(this.did)
    return row ? parseCid(row.cid) : null
  }

  /** Current root and revision without parsing, for cheap status endpoints. */
  rootInfo(): { cid: string; rev: string } | null {
    return this.qGetRoot.get(this.did)
  }

  async getBytes(cid: Cid): Promise<Uint8Array | null> {
    const row = this.qGetBlock.get(cid.toString())
    return row ? new Uint8Array(row.content) : null
  }

  async has(cid: Cid): Promise<boolean> {
    return this.qHasBlock.get(cid.toString()) !== null
  }

  async getBlocks(cids: Cid[]): Promise<{ blocks: BlockMap; missing: Cid[] }> {
    const blocks = new BlockMap()
    const missing: Cid[] = []
    for (const cid of cids) {
      const row = this.qGetBlock.get(cid.toString())
      if (row) blocks.set(cid, new Uint8Array(row.content))
      else missing.push(cid)
    }
    return { blocks, missing }
  }

  async putBlock(cid: Cid, block: Uint8Array, rev: string): Promise<void> {
    this.qPutBlock.run(cid.toString(), rev, block.byteLength, block)
  }

  async putMany(blocks: BlockMap, rev: string): Promise<void> {
    this.db.transaction(() => {
      blocks.forEach((bytes, cid) => this.qPutBlock.run(cid.toString(), rev, bytes.byteLength, bytes))
    })()
  }

  async updateRoot(cid: Cid, rev: string): Promise<void> {
    this.qSetRoot.run(this.did, cid.toString(), rev, new Date().toISOString())
  }

  async applyCommit(commit: CommitData): Promise<void> {
    this.applyCommitSync(commit)
  }

  /** The commit's block changes and new root; callers wrap it with their own index updates in one transaction. */
  applyCommitSync(commit: CommitData): void {
    commit.newBlocks.forEach((bytes, cid) => this.qPutBlock.run(cid.toString(), commit.rev, bytes.byteLength, bytes))
    for (const cid of commit.removedCids.toList()) this.qDelBlock.run(cid.toString())
    this.qSetRoot.run(this.did, commit.cid.toString(), commit.rev, new Date().toISOString())
  }

  /** Every block of the repo, for `com.atproto.sync.getRepo` (the hold's repo is small: captain, crew, layers, stats). */
  *allBlocks(): Generator<{ cid: Cid; bytes: Uint8Array }> {
    for (const row of this.db.query<{ cid: string; content: Uint8Array }, []>('SELECT cid, content FROM repo_block').iterate()) {
      yield { cid: parseCid(row.cid), bytes: new Uint8Array(row.content) }
    }
  }
}

function migrate(db: Database): void {
  db.run(`CREATE TABLE IF NOT EXISTS repo_root (did TEXT PRIMARY KEY, cid TEXT NOT NULL, rev TEXT NOT NULL, indexed_at TEXT NOT NULL)`)
  db.run(`CREATE TABLE IF NOT EXISTS repo_block (cid TEXT PRIMARY KEY, repo_rev TEXT NOT NULL, size INTEGER NOT NULL, content BLOB NOT NULL)`)
}
