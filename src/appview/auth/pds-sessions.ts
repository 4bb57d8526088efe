import type { Database } from 'bun:sqlite'
import { createHmac, timingSafeEqual } from 'node:crypto'
import { AtpAgent, type AtpSessionData } from '@atproto/api'

/**
 * The users' PDS sessions, kept so a `docker login` is verified once and reused: bsky.social rate-limits
 * createSession per account, while clients ask for tokens on nearly every operation. Sessions are stored
 * encrypted (AES-256-GCM, key in the data dir) and found by an HMAC of (did, password), never the password.
 */

export class LoginError extends Error {
  constructor(
    message: string,
    /** The PDS could not be reached (not the user's fault): answered as 503, not 401. */
    readonly unavailable = false,
  ) {
    super(message)
  }
}

export interface PdsSession {
  id: string
  did: string
  handle: string
  pdsUrl: string
}

interface Row {
  id: string
  did: string
  handle: string
  pds_url: string
  cred_mac: string
  data: Uint8Array
  iv: Uint8Array
  expires_at: number
}

export class PdsSessions {
  private readonly key: Promise<CryptoKey>
  /** Live agents by session id: one refresh at a time per session, shared by concurrent requests. */
  private readonly agents = new Map<string, AtpAgent>()

  constructor(
    private readonly db: Database,
    private readonly secret: Uint8Array,
    private readonly opts: { ttlSeconds: number; maxAgents?: number; fetch?: typeof fetch },
  ) {
    db.run(`CREATE TABLE IF NOT EXISTS pds_session (
      id TEXT PRIMARY KEY, did TEXT NOT NULL, handle TEXT NOT NULL, pds_url TEXT NOT NULL, cred_mac TEXT NOT NULL,
      data BLOB NOT NULL, iv BLOB NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL)`)
    db.run('CREATE INDEX IF NOT EXISTS pds_session_did ON pds_session (did)')
    this.key = crypto.subtle.importKey('raw', new Uint8Array(secret), 'AES-GCM', false, ['encrypt', 'decrypt'])
  }

  private mac(did: string, password: string): string {
    return createHmac('sha256', this.secret).update(`${did}\0${password}`).digest('hex')
  }

  /**
   * Returns a session for (did, password): an existing unexpired one when the same credentials were verified
   * before, else a new PDS login (`com.atproto.server.createSession`).
   */
  async login(did: string, password: string, pdsUrl: string): Promise<PdsSession & { fresh: boolean }> {
    const mac = this.mac(did, password)
    const now = Date.now()
    const rows = this.db.query<Row, [string, number]>('SELECT * FROM pds_session WHERE did = ? AND expires_at > ?').all(did, now)
    for (const r of rows) {
      if (r.pds_url === pdsUrl && timingSafeEqual(Buffer.from(r.cred_mac), Buffer.from(mac))) return { ...toSession(r), fresh: false }
    }
    let sid: string | undefined
    const agent = this.makeAgent(() => sid, pdsUrl)
    try {
      await agent.login({ identifier: did, password })
    } catch (err) {
      const status = (err as { status?: number }).status
      if (status === 401 || status === 400) throw new LoginError('invalid handle or app password')
      throw new LoginError(`the user's PDS could not be reached: ${(err as Error).message}`, true)
    }
    const data = agent.session!
    if (data.did !== did) throw new LoginError('the PDS answered for another account')
    const id = Buffer.from(crypto.getRandomValues(new Uint8Array(18))).toString('base64url')
    sid = id
    const { iv, ct } = await this.seal(data)
    this.db
      .query('INSERT INTO pds_session (id, did, handle, pds_url, cred_mac, data, iv, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(id, did, data.handle, pdsUrl, mac, ct, iv, now, now + this.opts.ttlSeconds * 1000)
    // Keep a bounded number of sessions per user: the newest win.
    this.db.query('DELETE FROM pds_session WHERE did = ? AND id NOT IN (SELECT id FROM pds_session WHERE did = ? ORDER BY created_at DESC LIMIT 10)').run(did, did)
    this.remember(id, agent)
    return { id, did, handle: data.handle, pdsUrl, fresh: true }
  }

  get(id: string): PdsSession | null {
    const r = this.db.query<Row, [string, number]>('SELECT * FROM pds_session WHERE id = ? AND expires_at > ?').get(id, Date.now())
    return r ? toSession(r) : null
  }

  /** An authenticated agent for the session; tokens refresh on their own and are persisted encrypted. */
  async agent(id: string): Promise<AtpAgent | null> {
    const live = this.agents.get(id)
    if (live) return live
    const r = this.db.query<Row, [string, number]>('SELECT * FROM pds_session WHERE id = ? AND expires_at > ?').get(id, Date.now())
    if (!r) return null
    const data = await this.open(r)
    const agent = this.makeAgent(() => id, r.pds_url)
    try {
      await agent.resumeSession(data)
    } catch {
      this.revoke(id)
      return null
    }
    this.remember(id, agent)
    return agent
  }

  revoke(id: string): void {
    this.agents.delete(id)
    this.db.query('DELETE FROM pds_session WHERE id = ?').run(id)
  }

  /** An agent whose refreshed tokens are saved (encrypted); a session the PDS rejects is dropped. */
  private makeAgent(id: () => string | undefined, pdsUrl: string): AtpAgent {
    return new AtpAgent({
      service: pdsUrl,
      fetch: this.opts.fetch,
      persistSession: async (evt, session) => {
        const sid = id()
        if (!sid) return
        if (evt === 'expired' || !session) return this.revoke(sid)
        if (evt === 'update') {
          const { iv, ct } = await this.seal(session)
          this.db.query('UPDATE pds_session SET data = ?, iv = ? WHERE id = ?').run(ct, iv, sid)
        }
      },
    })
  }

  private remember(id: string, agent: AtpAgent): void {
    this.agents.delete(id)
    this.agents.set(id, agent)
    if (this.agents.size > (this.opts.maxAgents ?? 1000)) this.agents.delete(this.agents.keys().next().value!)
  }

  private async seal(data: AtpSessionData): Promise<{ iv: Uint8Array; ct: Uint8Array }> {
    const iv = crypto.getRandomValues(new Uint8Array(12))
    const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, await this.key, new TextEncoder().encode(JSON.stringify(data))))
    return { iv, ct }
  }

  private async open(r: Row): Promise<AtpSessionData> {
    const pt = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: new Uint8Array(r.iv) }, await this.key, new Uint8Array(r.data))
    return JSON.parse(new TextDecoder().decode(pt)) as AtpSessionData
  }
}

function toSession(r: Row): PdsSession {
  return { id: r.id, did: r.did, handle: r.handle, pdsUrl: r.pds_url }
}
