import type { Logger } from '../../log.ts'
import { Lru } from '../../util/lru.ts'
import type { PdsSessions } from './pds-sessions.ts'

const LIFETIME_SECONDS = 30 * 60
const REUSE_MARGIN_MS = 5 * 60_000

/**
 * Service tokens for AppView -> hold calls, minted by the user's PDS (`com.atproto.server.getServiceAuth`,
 * `aud` = hold DID, `lxm` = method) and reused per (user, hold, method) until shortly before they expire, so a
 * push of many layers costs a handful of PDS round trips rather than one per request.
 */
export class ServiceTokens {
  private readonly cache = new Lru<string, { token: string; exp: number }>({ maxEntries: 50_000, ttlMs: LIFETIME_SECONDS * 1000 })

  constructor(
    private readonly sessions: PdsSessions,
    private readonly log: Logger,
  ) {}

  /** A token for the session's user, or null when there is no usable session (anonymous or revoked). */
  async get(sessionId: string | undefined, holdDid: string, lxm: string): Promise<string | null> {
    if (!sessionId) return null
    const session = this.sessions.get(sessionId)
    if (!session) return null
    const key = `${session.did}\0${holdDid}\0${lxm}`
    const hit = this.cache.get(key)
    if (hit && hit.exp * 1000 - REUSE_MARGIN_MS > Date.now()) return hit.token
    const agent = await this.sessions.agent(sessionId)
    if (!agent) return null
    const exp = Math.floor(Date.now() / 1000) + LIFETIME_SECONDS
    try {
      const res = await agent.com.atproto.server.getServiceAuth({ aud: holdDid, lxm, exp })
      this.cache.set(key, { token: res.data.token, exp })
      return res.data.token
    } catch (err) {
      this.log.warn('getServiceAuth failed', { did: session.did, aud: holdDid, lxm, err: (err as Error).message })
      return null
    }
  }
}
