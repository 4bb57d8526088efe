import { z } from 'zod'
import { did, duration, httpUrl, listenAddr, size, splitAddr } from './fields.ts'

/**
 * The AppView's configuration schema (registry API + token auth). Same rules as the hold's: strict objects,
 * defaults here, `APPVIEW_*` environment names derived from the paths, `atcr config init --role appview`.
 */
export const appviewConfigSchema = z
  .strictObject({
    server: z
      .strictObject({
        addr: listenAddr
          .default(':5000')
          .describe('Listen address, host:port (":5000" listens on all interfaces).'),
        base_url: httpUrl
          .optional()
          .describe('Public URL of this AppView (token realm, links). Default: http://localhost:<port of addr>.'),
        access_log: z.boolean().default(false).describe('Log one line per request (method, path, status, milliseconds); never tokens.'),
      })
      .prefault({})
      .describe('HTTP server.'),
    registry_domains: z
      .array(z.string().regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, 'must be host or host:port'))
      .default([])
      .describe('Host names clients use in image references (first one is shown in UI links). Default: the host of server.base_url.'),
    default_hold_did: did.optional().describe('Hold for pushes by users whose sailor profile names none (did:web:hold.example.com).'),
    auth: z
      .strictObject({
        key_path: z.string().optional().describe('ES256 key signing registry tokens. Default: <database.path>/auth/registry.key (created on first start).'),
        token_ttl: duration.prefault('5m').describe('Lifetime of registry bearer tokens.'),
        refresh_token_ttl: duration.prefault('30d').describe('Lifetime of identity (refresh) tokens issued to credential helpers.'),
        service_name: z.string().optional().describe('The "service" of the token spec. Default: the host of server.base_url.'),
        session_ttl: duration.prefault('7d').describe('How long a verified app-password login is reused before the PDS is asked again.'),
      })
      .prefault({})
      .describe('Docker token authentication.'),
    identity: z
      .strictObject({
        plc_url: httpUrl.default('https://plc.directory').describe('PLC directory for did:plc resolution.'),
        cache_ttl: duration.prefault('10m').describe('How long resolved DID documents and handles are used before refreshing.'),
        handle_resolver_url: httpUrl
          .optional()
          .describe('Resolve handles through this XRPC service (com.atproto.identity.resolveHandle) instead of DNS/HTTPS. For development with .test handles.'),
        allow_loopback: z.boolean().default(false).describe('Allow outbound fetches to loopback/private addresses. Local development only.'),
      })
      .prefault({})
      .describe('Handle and DID resolution.'),
    database: z
      .strictObject({
        path: z.string().default('/var/lib/atcr/appview').describe('Data directory: SQLite (sessions, upload state, caches) and keys.'),
      })
      .prefault({})
      .describe('Local state. Not the source of truth for images: deleting it loses logins, not images.'),
    uploads: z
      .strictObject({
        part_size: size.prefault('5MiB').describe('Size of the parts streamed into the hold (at least 5MiB, the S3 minimum).'),
        session_ttl: duration.prefault('1h').describe('Idle time after which an unfinished upload expires.'),
        max_per_user: z.number().int().min(1).max(1000).default(20).describe('Open upload sessions per user.'),
        max_blob_size: size.prefault('10GiB').describe('Largest blob accepted.'),
        tail_memory: size
          .prefault('32MiB')
          .describe('Memory for the partly filled last part of uploads between a PATCH and the next request (one part buffer each), over all uploads; beyond it they are spooled to disk under the database path.'),
        gc_headroom: size
          .prefault('16MiB')
          .describe('Growth of resident memory past the last full garbage collection that triggers another one, checked after each part (0: never force one). Lower keeps memory tighter during pushes and costs CPU.'),
      })
      .prefault({})
      .describe('Blob uploads.'),
    catalog: z
      .strictObject({
        max_entries: z.number().int().min(1).max(10000).default(1000).describe('Cap on n for /v2/_catalog and tags/list pages.'),
      })
      .prefault({})
      .describe('Listing limits.'),
  })
  .superRefine((c, ctx) => {
    if (c.uploads.part_size < 5 * 1024 * 1024) ctx.addIssue({ code: 'custom', path: ['uploads', 'part_size'], message: 'must be at least 5MiB (S3 minimum part size)' })
  })

type Parsed = z.output<typeof appviewConfigSchema>

export type AppviewConfig = Parsed & {
  server: Parsed['server'] & { base_url: string; port: number; hostname: string }
  auth: Parsed['auth'] & { key_path: string; service_name: string }
}

export function finishAppviewConfig(c: Parsed): AppviewConfig {
  const { hostname, port } = splitAddr(c.server.addr)
  const base_url = c.server.base_url ?? `http://localhost:${port}`
  const baseHost = new URL(base_url).host
  return {
    ...c,
    server: { ...c.server, port, hostname, base_url },
    registry_domains: c.registry_domains.length ? c.registry_domains : [baseHost],
    auth: {
      ...c.auth,
      key_path: c.auth.key_path ?? `${c.database.path.replace(/\/+$/, '')}/auth/registry.key`,
      service_name: c.auth.service_name ?? baseHost,
    },
  }
}
