import { z } from 'zod'
import { did, duration, httpUrl, listenAddr, size, splitAddr } from './fields.ts'

/**
 * The hold's configuration schema: the single source for validation, defaults, `atcr config init` comments
 * and `HOLD_*` environment names. Every object is strict, so an unknown (misspelled) key stops the start.
 */

const tier = z
  .strictObject({
    quota: size.describe('Storage limit for members of this tier, e.g. 5GB or 50GiB.'),
    scan_on_push: z.boolean().default(false).describe('Whether pushes by this tier are queued for vulnerability scans.'),
  })
  .describe('A quota tier.')

export const holdConfigSchema = z.strictObject({
  server: z
    .strictObject({
      addr: listenAddr
        .default(':8080')
        .describe('Listen address, host:port (":8080" listens on all interfaces).'),
      public_url: httpUrl
        .optional()
        .describe(
          "The hold's public URL; it becomes the did:web identity (https://hold.example.com -> did:web:hold.example.com). Default: http://localhost:<port of addr>.",
        ),
      public: z.boolean().default(false).describe('Allow anonymous pulls. When false, only crew with blob:read can pull.'),
    })
    .prefault({})
    .describe('HTTP server.'),
  storage: z
    .strictObject({
      driver: z
        .enum(['fs', 's3'])
        .optional()
        .describe('Blob storage backend: "fs" (files under root_dir; the hold serves signed URLs) or "s3". Default: s3 when a bucket is set, else fs.'),
      root_dir: z.string().optional().describe('Directory for the fs driver. Default: <database.path>/blobs.'),
      access_key: z.string().optional().describe('S3 access key id (env AWS_ACCESS_KEY_ID also works).'),
      secret_key: z.string().optional().describe('S3 secret access key (env AWS_SECRET_ACCESS_KEY also works).'),
      bucket: z.string().optional().describe('S3 bucket; must already exist (env S3_BUCKET also works).'),
      endpoint: httpUrl.optional().describe('S3 endpoint for non-AWS storage, e.g. https://gateway.storjshare.io (env S3_ENDPOINT). Omit for AWS.'),
      region: z.string().default('us-east-1').describe('S3 region (env AWS_REGION also works).'),
      pull_zone: httpUrl.optional().describe('CDN host that serves the bucket; download URLs are presigned against the endpoint, then the host is swapped.'),
      presign_ttl: duration.prefault('15m').describe('Lifetime of presigned/signed URLs, e.g. 15m.'),
      max_part_size: size.prefault('5GiB').describe('Largest multipart part accepted through uploadPart or signed part URLs (S3 allows 5GiB).'),
    })
    .prefault({})
    .describe('Where blob bytes live.'),
  registration: z
    .strictObject({
      owner_did: did.optional().describe('Your ATProto DID: the captain, created as first crew on first boot. Unset: the hold owns itself and only allow_all_crew users can push.'),
      allow_all_crew: z.boolean().default(false).describe('Let any authenticated ATProto user join the crew via io.atcr.hold.requestCrew.'),
      enable_bluesky_posts: z.boolean().default(false).describe("Post pushes with a tag to Bluesky from the hold's identity."),
    })
    .prefault({})
    .describe('Ownership and crew registration. Synced into the captain record at every start.'),
  database: z
    .strictObject({
      path: z.string().default('/var/lib/atcr-hold').describe('Data directory: embedded repo (SQLite), signing and rotation keys, upload state.'),
      did_method: z.enum(['web', 'plc']).default('web').describe('Identity method: "web" (derived from server.public_url) or "plc" (portable, registered with the PLC directory).'),
      did: did.optional().describe('Adopt an existing DID (did:plc recovery or migration) instead of creating one.'),
      plc_directory_url: httpUrl.default('https://plc.directory').describe('PLC directory used to register and resolve did:plc identities.'),
    })
    .prefault({})
    .describe('Embedded ATProto repo and identity.'),
  admin: z
    .strictObject({
      enabled: z.boolean().default(true).describe('Owner-only admin endpoints and UI.'),
    })
    .prefault({})
    .describe('Admin panel.'),
  quota: z
    .strictObject({
      tiers: z.record(z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'tier names are lowercase, up to 32 chars'), tier).default({}).describe('Quota tiers by name, e.g. deckhand: {quota: 5GB}. Empty disables enforcement.'),
      default_tier: z.string().optional().describe('Tier for crew without one. Default: the first tier listed.'),
    })
    .prefault({})
    .describe('Storage quotas per crew member (distinct layers they reference). The captain is unlimited.'),
  gc: z
    .strictObject({
      enabled: z.boolean().default(false).describe('Nightly garbage collection of orphaned blobs and records.'),
    })
    .prefault({})
    .describe('Garbage collection.'),
})
  .superRefine((c, ctx) => {
    const driver = c.storage.driver ?? (c.storage.bucket ? 's3' : 'fs')
    if (driver === 's3') {
      for (const k of ['bucket', 'access_key', 'secret_key'] as const) {
        if (!c.storage[k]) ctx.addIssue({ code: 'custom', path: ['storage', k], message: 'required when storage.driver is s3' })
      }
    }
    const tiers = Object.keys(c.quota.tiers)
    if (c.quota.default_tier && !tiers.includes(c.quota.default_tier)) {
      ctx.addIssue({ code: 'custom', path: ['quota', 'default_tier'], message: `unknown tier (have: ${tiers.join(', ') || 'none'})` })
    }
    if (c.database.did && !c.database.did.startsWith(`did:${c.database.did_method}:`)) {
      ctx.addIssue({ code: 'custom', path: ['database', 'did'], message: `must be a did:${c.database.did_method} (database.did_method)` })
    }
  })

export type HoldConfigInput = z.input<typeof holdConfigSchema>
type Parsed = z.output<typeof holdConfigSchema>

/** The validated config with derived values filled in, as the hold's composition root consumes it. */
export type HoldConfig = Parsed & {
  server: Parsed['server'] & { public_url: string; port: number; hostname: string }
  storage: Parsed['storage'] & { driver: 'fs' | 's3'; root_dir: string }
  quota: Parsed['quota'] & { default_tier?: string }
}

/** Fills in values derived from other keys (public_url from addr, driver from bucket, root_dir from path). */
export function finishHoldConfig(c: Parsed): HoldConfig {
  const { hostname, port } = splitAddr(c.server.addr)
  return {
    ...c,
    server: { ...c.server, port, hostname, public_url: c.server.public_url ?? `http://localhost:${port}` },
    storage: {
      ...c.storage,
      driver: c.storage.driver ?? (c.storage.bucket ? 's3' : 'fs'),
      root_dir: c.storage.root_dir ?? `${c.database.path.replace(/\/+$/, '')}/blobs`,
    },
    quota: { ...c.quota, default_tier: c.quota.default_tier ?? Object.keys(c.quota.tiers)[0] },
  }
}

/** Standard AWS/S3 variable names the original accepts besides HOLD_STORAGE_*. */
export const HOLD_ENV_ALIASES: Record<string, string[]> = {
  AWS_ACCESS_KEY_ID: ['storage', 'access_key'],
  AWS_SECRET_ACCESS_KEY: ['storage', 'secret_key'],
  AWS_REGION: ['storage', 'region'],
  S3_BUCKET: ['storage', 'bucket'],
  S3_ENDPOINT: ['storage', 'endpoint'],
}
