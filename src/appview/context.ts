import { Database } from 'bun:sqlite'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { createGuardedFetch, createIdentityResolver, sqliteDidStore, type IdentityResolver } from '../atproto/identity.ts'
import type { AppviewConfig } from '../config/appview.ts'
import { MemoryGovernor } from '../util/memory-governor.ts'
import { loadOrCreateSecret } from '../util/secret-file.ts'
import { createLogger, type Logger } from '../log.ts'
import { Lru } from '../util/lru.ts'
import { PdsSessions, type PdsSession } from './auth/pds-sessions.ts'
import { RegistryTokens } from './auth/registry-token.ts'
import { ServiceTokens } from './auth/service-tokens.ts'
import { TokenService } from './auth/token-service.ts'
import { HoldClient } from './store/hold-client.ts'
import { ManifestStore } from './store/manifest-store.ts'
import { RegistryIndex } from './store/registry-index.ts'
import { RegistryUploads } from './store/uploads.ts'

/** Everything the AppView's handlers use, built once from config (the composition root). */
export interface AppviewContext {
  config: AppviewConfig
  db: Database
  log: Logger
  resolver: IdentityResolver
  /** fetch for URLs from untrusted documents (PDS and hold endpoints): SSRF-guarded unless allow_loopback. */
  fetch: typeof fetch
  tokens: RegistryTokens
  sessions: PdsSessions
  auth: TokenService
  serviceTokens: ServiceTokens
  holds: HoldClient
  manifests: ManifestStore
  uploads: RegistryUploads
  index: RegistryIndex
  /** Repository identity (handle or DID) -> owner DID and PDS; failures are remembered briefly. */
  owners: Lru<string, { did: string; pdsUrl: string } | null>
  /** (session, manifest digest) pairs whose pull was reported to the hold in the last minute. */
  recentPulls: Lru<string, true>
  /** User DID -> hold for pushes (sailor profile defaultHold or the configured default). */
  pushHolds: Lru<string, string | null>
  close(): void
}

export async function createAppviewContext(config: AppviewConfig, opts: { log?: Logger } = {}): Promise<AppviewContext> {
  const log = opts.log ?? createLogger('appview')
  const dataDir = config.database.path
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const db = new Database(join(dataDir, 'appview.sqlite'), { create: true, strict: true })
  db.run('PRAGMA journal_mode = WAL')
  db.run('PRAGMA synchronous = NORMAL')
  db.run('PRAGMA busy_timeout = 5000')

  const guarded = createGuardedFetch(globalThis.fetch, {
    allowLoopback: config.identity.allow_loopback,
    trustedOrigins: [new URL(config.identity.plc_url).origin, ...(config.identity.handle_resolver_url ? [new URL(config.identity.handle_resolver_url).origin] : [])],
    maxBytes: 16 * 1024 * 1024,
  }) as typeof fetch
  const resolver = createIdentityResolver({
    plcUrl: config.identity.plc_url,
    cacheTtlMs: config.identity.cache_ttl * 1000,
    allowLoopback: config.identity.allow_loopback,
    handleResolverUrl: config.identity.handle_resolver_url,
    store: sqliteDidStore(db),
  })
  const tokens = await RegistryTokens.load(config.auth.key_path, config.server.base_url, config.auth.service_name)
  const sessions = new PdsSessions(db, loadOrCreateSecret(join(dataDir, 'session.key')), { ttlSeconds: config.auth.session_ttl, fetch: guarded })
  const manifests = new ManifestStore(guarded)
  const holds = new HoldClient(resolver, { fetch: guarded })
  const serviceTokens = new ServiceTokens(sessions, log)

  // First login: give the user a sailor profile pointing at this AppView's default hold (as the original does).
  const onFirstLogin = async (s: PdsSession) => {
    if (!config.default_hold_did) return
    if (await manifests.getProfile(s.pdsUrl, s.did)) return
    const agent = await sessions.agent(s.id)
    if (agent) await manifests.putProfile(agent, s.did, { defaultHold: config.default_hold_did, createdAt: new Date().toISOString() })
  }
  const auth = new TokenService(db, tokens, sessions, resolver, {
    tokenTtl: config.auth.token_ttl,
    refreshTtl: config.auth.refresh_token_ttl,
    log,
    onFirstLogin,
  })
  const uploads = new RegistryUploads(db, holds, (sid, hold, lxm) => serviceTokens.get(sid, hold, lxm), {
    spoolDir: join(dataDir, 'uploads'),
    partSize: config.uploads.part_size,
    ttlSeconds: config.uploads.session_ttl,
    maxPerUser: config.uploads.max_per_user,
    maxBlobSize: config.uploads.max_blob_size,
    tailMemory: config.uploads.tail_memory,
    memory: new MemoryGovernor(config.uploads.gc_headroom),
    log,
    fetch: guarded,
  })
  return {
    config,
    db,
    log,
    resolver,
    fetch: guarded,
    tokens,
    sessions,
    auth,
    serviceTokens,
    holds,
    manifests,
    uploads,
    index: new RegistryIndex(db),
    pushHolds: new Lru({ maxEntries: 50_000, ttlMs: 60_000 }),
    recentPulls: new Lru({ maxEntries: 50_000, ttlMs: 60_000 }),
    owners: new Lru({ maxEntries: 50_000, ttlMs: Math.min(config.identity.cache_ttl * 1000, 5 * 60_000) }),
    close: () => db.close(),
  }
}
