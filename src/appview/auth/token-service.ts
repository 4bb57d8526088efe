import type { Database } from 'bun:sqlite'
import type { IdentityResolver } from '../../atproto/identity.ts'
import type { Logger } from '../../log.ts'
import { isValidRepositoryName, parseScope } from '../../oci/reference.ts'
import { Lru } from '../../util/lru.ts'
import { LoginError, type PdsSession, type PdsSessions } from './pds-sessions.ts'
import type { Access, RegistryTokens } from './registry-token.ts'

/** Why a token request failed, with the HTTP status the token endpoint answers. */
export class TokenRequestError extends Error {
  constructor(
    readonly status: 400 | 401 | 429 | 503,
    message: string,
  ) {
    super(message)
  }
}

export interface IssuedToken {
  token: string
  expiresIn: number
  issuedAt: string
  refreshToken?: string
  access: Access[]
}

/** Requested access from the token request's `scope` parameter(s); unknown types are dropped. */
export function parseScopes(scopes: string[]): Access[] {
  return parseScope(scopes).filter((s): s is Access => s.type === 'repository' || s.type === 'registry')
}

/**
 * Docker token auth on top of ATProto identities: app-password logins checked once against the user's PDS
 * (and reused), identity (refresh) tokens for credential helpers, and grants computed per repository.
 */
export class TokenService {
  private readonly failures = new Lru<string, number>({ maxEntries: 100_000, ttlMs: 5 * 60_000 })

  constructor(
    private readonly db: Database,
    private readonly tokens: RegistryTokens,
    private readonly sessions: PdsSessions,
    private readonly resolver: IdentityResolver,
    private readonly opts: {
      tokenTtl: number
      refreshTtl: number
      log: Logger
      /** Called after a fresh (not reused) login, e.g. to create the sailor profile. */
      onFirstLogin?: (session: PdsSession) => Promise<void>
    },
  ) {
    db.run(`CREATE TABLE IF NOT EXISTS refresh_token (
      hash TEXT PRIMARY KEY, session_id TEXT NOT NULL, did TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL)`)
  }

  /** handle or DID -> DID; null when it does not resolve. */
  async resolveIdentity(identifier: string): Promise<string | null> {
    const id = identifier.trim().replace(/^@/, '').toLowerCase()
    if (id.startsWith('did:')) return identifier.trim()
    if (!/^[a-z0-9][a-z0-9.-]*\.[a-z0-9-]+$/.test(id) || id.length > 253) return null
    return this.resolver.resolveHandle(id).catch(() => null)
  }

  /** Verifies an app password with the user's PDS (or a cached verification) and returns the session. */
  async login(identifier: string, password: string): Promise<PdsSession> {
    const did = await this.resolveIdentity(identifier)
    if (!did) throw new TokenRequestError(401, 'unknown handle or DID')
    const fails = this.failures.get(did) ?? 0
    if (fails >= 10) throw new TokenRequestError(429, 'too many failed logins; wait a few minutes')
    let pdsUrl: string
    try {
      pdsUrl = await this.resolver.resolvePds(did)
    } catch (err) {
      throw new TokenRequestError(401, `cannot find the PDS of ${did}: ${(err as Error).message}`)
    }
    try {
      const { fresh, ...session } = await this.sessions.login(did, password, pdsUrl)
      if (fresh) await this.opts.onFirstLogin?.(session).catch((e) => this.opts.log.warn('first-login setup failed', { did, err: String(e) }))
      return session
    } catch (err) {
      if (err instanceof LoginError) {
        if (err.unavailable) throw new TokenRequestError(503, err.message)
        this.failures.set(did, fails + 1)
        throw new TokenRequestError(401, err.message)
      }
      throw err
    }
  }

  /** The subset of requested access this caller gets: pull for all, push/delete only in their own namespace. */
  async grant(did: string | null, requested: Access[]): Promise<Access[]> {
    const granted: Access[] = []
    for (const r of requested) {
      if (r.type === 'registry') {
        if (r.name === 'catalog') granted.push({ type: 'registry', name: 'catalog', actions: ['*'] })
        continue
      }
      if (!isValidRepositoryName(r.name)) continue
      const actions = new Set<string>()
      const owner = did ? await this.ownerOf(r.name) : null
      for (const a of r.actions) {
        if (a === 'pull') actions.add('pull')
        else if ((a === 'push' || a === 'delete' || a === '*') && did && owner === did) {
          if (a === '*') ['pull', 'push', 'delete'].forEach((x) => actions.add(x))
          else actions.add(a)
        }
      }
      if (actions.size) granted.push({ type: 'repository', name: r.name, actions: [...actions] })
    }
    return granted
  }

  private async ownerOf(name: string): Promise<string | null> {
    const identity = name.split('/')[0] ?? ''
    if (identity.startsWith('did:')) return identity
    return this.resolveIdentity(identity)
  }

  async issue(session: PdsSession | null, requested: Access[], offline: boolean): Promise<IssuedToken> {
    const access = await this.grant(session?.did ?? null, requested)
    const { token, claims } = await this.tokens.issue(session?.did ?? '', access, this.opts.tokenTtl, session?.id)
    const out: IssuedToken = { token, expiresIn: this.opts.tokenTtl, issuedAt: new Date(claims.iat * 1000).toISOString(), access }
    if (offline && session) out.refreshToken = this.newRefreshToken(session)
    return out
  }

  private newRefreshToken(session: PdsSession): string {
    const token = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')
    const now = Date.now()
    this.db
      .query('INSERT INTO refresh_token (hash, session_id, did, created_at, expires_at) VALUES (?, ?, ?, ?, ?)')
      .run(hashToken(token), session.id, session.did, now, now + this.opts.refreshTtl * 1000)
    return token
  }

  /** The session behind an identity token; the token is looked up by its hash, so the table holds no secrets. */
  fromRefreshToken(token: string): PdsSession {
    const row = this.db
      .query<{ session_id: string }, [string, number]>('SELECT session_id FROM refresh_token WHERE hash = ? AND expires_at > ?')
      .get(hashToken(token), Date.now())
    const session = row ? this.sessions.get(row.session_id) : null
    if (!session) throw new TokenRequestError(401, 'invalid or expired refresh token')
    return session
  }
}

function hashToken(token: string): string {
  return new Bun.CryptoHasher('sha256').update(token).digest('hex')
}
