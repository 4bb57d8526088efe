import { Database } from 'bun:sqlite'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { HoldConfig } from '../config/hold.ts'
import { validateRecord } from '../atproto/lexicons.ts'
import { createIdentityResolver, type IdentityResolver } from '../atproto/identity.ts'
import { createLogger, type Logger } from '../log.ts'
import { CAPTAIN, CREW, CREW_ADMIN, BLOB_READ, BLOB_WRITE, CrewDirectory, crewRkey, type Captain } from './crew.ts'
import { loadOrCreateSecret } from '../util/secret-file.ts'
import { loadIdentity, type HoldIdentity } from './identity.ts'
import { QuotaBook } from './quota.ts'
import { HoldRepo, type CommitResult, type WriteInput } from './repo/repo.ts'
import type { StorageDriver } from './storage/driver.ts'
import { FsDriver } from './storage/fs.ts'
import { S3Driver } from './storage/s3.ts'
import { UploadSessions } from './uploads.ts'

/** Everything a hold request handler may use, built once from config (the composition root). */
export interface HoldContext {
  config: HoldConfig
  identity: HoldIdentity
  db: Database
  repo: HoldRepo
  crew: CrewDirectory
  storage: StorageDriver
  /** Set with the fs driver: serves the hold's own signed URLs. */
  fs: FsDriver | null
  uploads: UploadSessions
  quota: QuotaBook
  resolver: IdentityResolver
  log: Logger
  /** Validates records against the lexicons, commits them, and refreshes derived state. */
  writeRecords(writes: WriteInput[]): Promise<CommitResult>
  close(): void
}

export interface ContextOptions {
  log?: Logger
  /** Upload session lifetime and per-user cap. */
  uploadTtlSeconds?: number
  maxUploadsPerUser?: number
}

export async function createHoldContext(config: HoldConfig, opts: ContextOptions = {}): Promise<HoldContext> {
  const log = opts.log ?? createLogger('hold')
  const dataDir = config.database.path
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const identity = await loadIdentity({
    dataDir,
    publicUrl: config.server.public_url,
    didMethod: config.database.did_method,
    did: config.database.did,
    plcUrl: config.database.plc_directory_url,
    log: (m) => log.info(m),
  })

  const db = new Database(join(dataDir, 'hold.sqlite'), { create: true, strict: true })
  db.run('PRAGMA journal_mode = WAL')
  db.run('PRAGMA synchronous = NORMAL')
  db.run('PRAGMA busy_timeout = 5000')

  const tiers = Object.entries(config.quota.tiers).map(([name, t]) => ({ name, quotaBytes: t.quota, scanOnPush: t.scan_on_push }))
  const quota = new QuotaBook(db, tiers, config.quota.default_tier)
  const repo = new HoldRepo(db, identity.did, identity.keypair, (writes) => quota.onCommit(writes))
  const crew = new CrewDirectory(repo)

  let fs: FsDriver | null = null
  let storage: StorageDriver
  if (config.storage.driver === 's3') {
    storage = new S3Driver({
      endpoint: config.storage.endpoint,
      region: config.storage.region,
      bucket: config.storage.bucket!,
      accessKey: config.storage.access_key!,
      secretKey: config.storage.secret_key!,
      pullZone: config.storage.pull_zone,
    })
  } else {
    fs = new FsDriver({
      rootDir: config.storage.root_dir,
      publicUrl: config.server.public_url,
      secret: loadOrCreateSecret(join(dataDir, 'storage.secret')),
      maxPartSize: config.storage.max_part_size,
    })
    storage = fs
  }

  const resolver = createIdentityResolver({ plcUrl: config.database.plc_directory_url, allowLoopback: isLoopbackUrl(config.database.plc_directory_url) })

  const writeRecords = async (writes: WriteInput[]) => {
    for (const w of writes) if (w.action !== 'delete') w.record = validateRecord(w.collection, { $type: w.collection, ...w.record })
    const res = await repo.applyWrites(writes)
    if (crew.touches(writes)) await crew.reload()
    else crew.advance(res.since, res.rev)
    return res
  }

  const ctx: HoldContext = {
    config,
    identity,
    db,
    repo,
    crew,
    storage,
    fs,
    uploads: new UploadSessions(db, { ttlSeconds: opts.uploadTtlSeconds ?? 24 * 3600, maxPerUser: opts.maxUploadsPerUser ?? 100 }),
    quota,
    resolver,
    log,
    writeRecords,
    close: () => db.close(),
  }
  await bootstrap(ctx)
  return ctx
}

function isLoopbackUrl(u: string): boolean {
  const h = new URL(u).hostname
  return h === 'localhost' || h === '::1' || h === '[::1]' || h.startsWith('127.')
}

/**
 * First boot writes the captain record and the owner's crew record; every boot syncs the config-owned
 * captain fields (public, allowAllCrew, enableBlueskyPosts, owner) into the record.
 */
async function bootstrap(ctx: HoldContext): Promise<void> {
  const { config, repo, identity } = ctx
  const owner = config.registration.owner_did ?? identity.did
  const now = new Date().toISOString()
  const wanted = {
    owner,
    public: config.server.public,
    allowAllCrew: config.registration.allow_all_crew,
    enableBlueskyPosts: config.registration.enable_bluesky_posts,
  }
  const ownerCrew = (): WriteInput => ({
    action: 'create',
    collection: CREW,
    rkey: crewRkey(owner),
    record: { $type: CREW, member: owner, role: 'owner', permissions: [BLOB_READ, BLOB_WRITE, CREW_ADMIN], addedAt: now },
  })
  const initial: WriteInput[] = [{ action: 'create', collection: CAPTAIN, rkey: 'self', record: { $type: CAPTAIN, ...wanted, deployedAt: now } }]
  if (config.registration.owner_did) initial.push(ownerCrew())
  for (const w of initial) if (w.action !== 'delete') w.record = validateRecord(w.collection, w.record)
  if (await repo.initIfEmpty(initial)) {
    ctx.log.info('created hold repo', { did: identity.did, owner })
  } else {
    const current = (await repo.getRecord(CAPTAIN, 'self'))?.value as unknown as Captain | undefined
    const changed = !current || (Object.keys(wanted) as (keyof typeof wanted)[]).some((k) => current[k] !== wanted[k])
    const writes: WriteInput[] = []
    if (changed) {
      writes.push({ action: 'update', collection: CAPTAIN, rkey: 'self', record: { $type: CAPTAIN, ...(current ?? { deployedAt: now }), ...wanted } })
    }
    await ctx.crew.reload()
    if (config.registration.owner_did && !ctx.crew.member(owner)) writes.push(ownerCrew())
    if (writes.length) {
      await ctx.writeRecords(writes)
      ctx.log.info('synced captain record with config', wanted)
    }
  }
  await ctx.crew.reload()
}
