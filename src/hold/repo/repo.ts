import type { Database } from 'bun:sqlite'
import { EventEmitter } from 'node:events'
import type { Keypair } from '@atproto/crypto'
import { cidForLex, encode as cborEncode } from '@atproto/lex-cbor'
import { parseCid, type Cid, type LexMap } from '@atproto/lex-data'
import { jsonToLex, lexToJson, type JsonValue } from '@atproto/lex-json'
import {
  BlockMap,
  blocksToCarFile,
  getRecords,
  Repo,
  WriteOpAction,
  writeCarStream,
  type CommitData,
  type RecordWriteOp,
} from '@atproto/repo'
import { SqliteRepoStorage } from './sqlite-storage.ts'

/** A record as the XRPC read endpoints return it. */
export interface StoredRecord {
  uri: string
  cid: string
  value: Record<string, unknown>
}

export type WriteInput =
  | { action: 'create' | 'update'; collection: string; rkey: string; record: Record<string, unknown> }
  | { action: 'delete'; collection: string; rkey: string }

export interface CommitResult {
  cid: string
  rev: string
  /** The revision this commit was made on top of (null for the first). */
  since: string | null
  seq: number
  results: { uri: string; cid: string | null; action: WriteInput['action'] }[]
}

/** One sequenced firehose event, stored as the CBOR frame body. */
export interface SeqEvent {
  seq: number
  type: '#commit' | '#identity' | '#account' | '#sync'
  body: Uint8Array
}

/**
 * The hold's embedded ATProto repo: signed commits over an MST in SQLite, a record index for
 * listRecords, and a sequencer feeding `com.atproto.sync.subscribeRepos`. Writes are serialized in-process.
 */
export class HoldRepo {
  readonly storage: SqliteRepoStorage
  readonly events = new EventEmitter()
  private writeChain: Promise<unknown> = Promise.resolve()
  private readonly qGetRec
  private readonly qUpsertRec
  private readonly qDelRec

  constructor(
    private readonly db: Database,
    readonly did: string,
    private readonly keypair: Keypair,
    /** Runs inside each commit's transaction, so indexes derived from records never drift from the repo. */
    private readonly onCommit?: (writes: WriteInput[], rev: string) => void,
  ) {
    this.storage = new SqliteRepoStorage(db, did)
    db.run(`CREATE TABLE IF NOT EXISTS record (
      uri TEXT PRIMARY KEY, cid TEXT NOT NULL, collection TEXT NOT NULL, rkey TEXT NOT NULL, repo_rev TEXT NOT NULL, indexed_at TEXT NOT NULL)`)
    db.run('CREATE INDEX IF NOT EXISTS record_collection_rkey ON record (collection, rkey)')
    db.run(`CREATE TABLE IF NOT EXISTS repo_seq (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, event_type TEXT NOT NULL, event BLOB NOT NULL, sequenced_at TEXT NOT NULL)`)
    this.events.setMaxListeners(1000)
    this.qGetRec = db.query<{ cid: string }, [string]>('SELECT cid FROM record WHERE uri = ?')
    this.qUpsertRec = db.query(
      `INSERT INTO record (uri, cid, collection, rkey, repo_rev, indexed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
       ON CONFLICT(uri) DO UPDATE SET cid = ?2, repo_rev = ?5, indexed_at = ?6`,
    )
    this.qDelRec = db.query('DELETE FROM record WHERE uri = ?')
  }

  uri(collection: string, rkey: string): string {
    return `at://${this.did}/${collection}/${rkey}`
  }

  /** Creates the repo with its first records when it does not exist yet. Returns whether it was created. */
  async initIfEmpty(initial: WriteInput[]): Promise<boolean> {
    if (this.storage.rootInfo()) return false
    const commit = await Repo.formatInitCommit(this.storage, this.did, this.keypair, initial.map(toOp) as never)
    await this.persist(commit, initial, null, null)
    return true
  }

  latestCommit(): { cid: string; rev: string } | null {
    return this.storage.rootInfo()
  }

  async getRecord(collection: string, rkey: string): Promise<StoredRecord | null> {
    const uri = this.uri(collection, rkey)
    const row = this.qGetRec.get(uri)
    if (!row) return null
    const value = await this.storage.readRecord(parseCid(row.cid))
    return { uri, cid: row.cid, value: lexToJson(value) as Record<string, unknown> }
  }

  /** Records of a collection in rkey order (descending by default, as the PDS lists newest TIDs first). */
  async listRecords(
    collection: string,
    opts: { limit: number; cursor?: string; reverse?: boolean },
  ): Promise<{ records: StoredRecord[]; cursor?: string }> {
    const asc = !!opts.reverse
    const rows = this.db
      .query<{ rkey: string; cid: string }, [string, string, number]>(
        `SELECT rkey, cid FROM record WHERE collection = ? AND rkey ${asc ? '>' : '<'} ? ORDER BY rkey ${asc ? 'ASC' : 'DESC'} LIMIT ?`,
      )
      .all(collection, opts.cursor ?? (asc ? '' : '\uffff'), opts.limit)
    const records: StoredRecord[] = []
    for (const r of rows) {
      const value = await this.storage.readRecord(parseCid(r.cid))
      records.push({ uri: this.uri(collection, r.rkey), cid: r.cid, value: lexToJson(value) as Record<string, unknown> })
    }
    const last = rows[rows.length - 1]
    return { records, cursor: rows.length === opts.limit && last ? last.rkey : undefined }
  }

  /** All rkeys+values of a collection; used by quota and crew lookups over the hold's own small collections. */
  *scanCollection(collection: string): Generator<{ rkey: string; cid: string }> {
    yield* this.db.query<{ rkey: string; cid: string }, [string]>('SELECT rkey, cid FROM record WHERE collection = ? ORDER BY rkey').iterate(collection)
  }

  async readRecordByCid(cid: string): Promise<Record<string, unknown>> {
    return lexToJson(await this.storage.readRecord(parseCid(cid))) as Record<string, unknown>
  }

  collections(): string[] {
    return this.db.query<{ collection: string }, []>('SELECT DISTINCT collection FROM record ORDER BY collection').all().map((r) => r.collection)
  }

  /** Applies writes as one signed commit. Serialized so concurrent requests never fork the repo. */
  applyWrites(writes: WriteInput[]): Promise<CommitResult> {
    const run = this.writeChain.then(async () => {
      // Another process (the `atcr hold crew` CLI) may commit to the same database: retry on a moved root.
      for (let attempt = 0; ; attempt++) {
        const repo = await Repo.load(this.storage)
        const commit = await repo.formatCommit(writes.map(toOp), this.keypair)
        try {
          return await this.persist(commit, writes, repo.commit.data, repo.cid.toString())
        } catch (err) {
          if (!(err instanceof RootMovedError) || attempt >= 3) throw err
        }
      }
    })
    this.writeChain = run.catch(() => {})
    return run
  }

  private async persist(commit: CommitData, writes: WriteInput[], prevData: Cid | null, expectedRoot: string | null = null): Promise<CommitResult> {
    const now = new Date().toISOString()
    const results: CommitResult['results'] = []
    const ops: { action: string; path: string; cid: Cid | null; prev?: Cid | null }[] = []
    for (const w of writes) {
      const uri = this.uri(w.collection, w.rkey)
      const prevRow = this.qGetRec.get(uri)
      const cid = w.action === 'delete' ? null : await cidOf(w)
      results.push({ uri, cid: cid?.toString() ?? null, action: w.action })
      ops.push({ action: w.action, path: `${w.collection}/${w.rkey}`, cid, ...(prevRow ? { prev: parseCid(prevRow.cid) } : {}) })
    }
    const blocks = new BlockMap()
    blocks.addMap(commit.newBlocks)
    blocks.addMap(commit.relevantBlocks)
    const car = await blocksToCarFile(commit.cid, blocks)
    const body: Record<string, unknown> = {
      repo: this.did,
      commit: commit.cid,
      rev: commit.rev,
      since: commit.since,
      blocks: car,
      ops,
      blobs: [],
      rebase: false,
      tooBig: false,
      time: now,
    }
    if (prevData) body.prevData = prevData
    let seq = 0
    this.db.transaction(() => {
      if ((this.storage.rootInfo()?.cid ?? null) !== expectedRoot) throw new RootMovedError()
      this.storage.applyCommitSync(commit)
      writes.forEach((w, i) => {
        const uri = results[i]!.uri
        if (w.action === 'delete') this.qDelRec.run(uri)
        else this.qUpsertRec.run(uri, results[i]!.cid!, w.collection, w.rkey, commit.rev, now)
      })
      // The seq is only known after insert; the stored body carries it so replays are byte-identical.
      const ins = this.db.query('INSERT INTO repo_seq (event_type, event, sequenced_at) VALUES (?, ?, ?)').run('#commit', new Uint8Array(0), now)
      seq = Number(ins.lastInsertRowid)
      this.db.query('UPDATE repo_seq SET event = ? WHERE seq = ?').run(cborEncode({ seq, ...body } as never), seq)
      this.onCommit?.(writes, commit.rev)
    }).immediate()
    const event: SeqEvent = { seq, type: '#commit', body: this.db.query<{ event: Uint8Array }, [number]>('SELECT event FROM repo_seq WHERE seq = ?').get(seq)!.event }
    this.events.emit('event', event)
    return { cid: commit.cid.toString(), rev: commit.rev, since: commit.since, seq, results }
  }

  /** Sequenced events after `cursor`, oldest first, in pages. */
  eventsAfter(cursor: number, limit = 500): SeqEvent[] {
    return this.db
      .query<{ seq: number; event_type: string; event: Uint8Array }, [number, number]>(
        'SELECT seq, event_type, event FROM repo_seq WHERE seq > ? ORDER BY seq ASC LIMIT ?',
      )
      .all(cursor, limit)
      .map((r) => ({ seq: r.seq, type: r.event_type as SeqEvent['type'], body: new Uint8Array(r.event) }))
  }

  currentSeq(): number {
    return this.db.query<{ seq: number | null }, []>('SELECT MAX(seq) AS seq FROM repo_seq').get()?.seq ?? 0
  }

  /** The whole repo as a CAR (`com.atproto.sync.getRepo`). */
  async exportCar(): Promise<Uint8Array> {
    const root = this.storage.rootInfo()
    if (!root) throw new Error('repo not initialised')
    const storage = this.storage
    async function* blocks() {
      for (const b of storage.allBlocks()) yield b
    }
    const chunks: Uint8Array[] = []
    for await (const c of writeCarStream(parseCid(root.cid), blocks())) chunks.push(c)
    return Buffer.concat(chunks)
  }

  /** A CAR proving one record (commit, MST path, record): `com.atproto.sync.getRecord`. */
  async recordProofCar(collection: string, rkey: string): Promise<Uint8Array> {
    const root = this.storage.rootInfo()
    if (!root) throw new Error('repo not initialised')
    const chunks: Uint8Array[] = []
    for await (const c of getRecords(this.storage, parseCid(root.cid), [{ collection, rkey }] as never)) chunks.push(c)
    return Buffer.concat(chunks)
  }
}

class RootMovedError extends Error {}

function toOp(w: WriteInput): RecordWriteOp {
  if (w.action === 'delete') return { action: WriteOpAction.Delete, collection: w.collection, rkey: w.rkey } as RecordWriteOp
  return {
    action: w.action === 'create' ? WriteOpAction.Create : WriteOpAction.Update,
    collection: w.collection,
    rkey: w.rkey,
    record: jsonToLex(w.record as JsonValue) as LexMap,
  } as RecordWriteOp
}

function cidOf(w: WriteInput & { record: Record<string, unknown> }): Promise<Cid> {
  return cidForLex(jsonToLex(w.record as JsonValue) as never)
}
