import { Elysia } from 'elysia'
import { xrpcErrorResponse, XrpcError } from '../atproto/xrpc-error.ts'
import { VERSION } from '../version.ts'
import type { HoldContext } from './context.ts'
import { streamEvents } from './firehose.ts'
import { HOLD_METHODS } from './xrpc/index.ts'
import { runMethod } from './xrpc/method.ts'

const SUBSCRIBE_REPOS = 'com.atproto.sync.subscribeRepos'

/** The hold's HTTP surface: well-known identity documents, XRPC, the firehose, and fs-driver signed URLs. */
export function createHoldApp(ctx: HoldContext) {
  const methods = new Map(HOLD_METHODS.map((m) => [m.nsid, m]))
  const logError = (msg: string, err: unknown) => ctx.log.error(msg, err)
  const handle = async (nsid: string, request: Request) => {
    try {
      const m = methods.get(nsid)
      if (!m) throw new XrpcError(501, 'MethodNotImplemented', `Method Not Implemented: ${nsid}`)
      return await runMethod(ctx, m, request)
    } catch (err) {
      return xrpcErrorResponse(err, logError)
    }
  }
  const stops = new WeakMap<object, () => void>()

  return new Elysia({ serve: { maxRequestBodySize: ctx.config.storage.max_part_size + 1024 * 1024 } })
    .get('/', () => new Response(`This is an ATCR hold (${ctx.identity.did}).\nSee /xrpc/_health and /.well-known/did.json\n`))
    .get('/.well-known/did.json', () =>
      ctx.identity.did.startsWith('did:web:') ? Response.json(ctx.identity.didDocument) : new Response('not a did:web hold', { status: 404 }),
    )
    .get('/.well-known/atproto-did', () => new Response(ctx.identity.did, { headers: { 'content-type': 'text/plain' } }))
    .get('/xrpc/_health', () => ({ version: VERSION }))
    .ws(`/xrpc/${SUBSCRIBE_REPOS}`, {
      open(ws) {
        const raw = (ws.data as { query?: Record<string, string> }).query?.cursor
        const cursor = raw === undefined || raw === '' ? undefined : Number(raw)
        if (cursor !== undefined && !(Number.isSafeInteger(cursor) && cursor >= 0)) {
          ws.close(1008, 'InvalidRequest: cursor must be a non-negative integer')
          return
        }
        stops.set(ws.raw, streamEvents(ctx.repo, ws.raw as never, cursor))
      },
      close(ws) {
        stops.get(ws.raw)?.()
      },
    })
    .all('/xrpc/:nsid', ({ params, request }) => handle(params.nsid, request), { parse: 'none' })
    .all(
      '/_storage/*',
      async ({ request }) => {
        if (!ctx.fs) return new Response('not found', { status: 404 })
        try {
          return await ctx.fs.handle(request)
        } catch (err) {
          ctx.log.error('fs signed url', err)
          return new Response('internal error', { status: 500 })
        }
      },
      { parse: 'none' },
    )
}

export interface RunningHold {
  url: string
  port: number
  stop(): Promise<void>
}

/** Starts the server and the background sweeper for expired upload sessions. */
export function startHold(ctx: HoldContext): RunningHold {
  const app = createHoldApp(ctx).listen({ hostname: ctx.config.server.hostname, port: ctx.config.server.port })
  const sweep = setInterval(async () => {
    for (const s of ctx.uploads.takeExpired()) {
      await ctx.storage.abortMultipart(s.key, s.storageUploadId).catch((err) => ctx.log.warn('abort expired upload failed', { id: s.id, err: String(err) }))
    }
  }, 10 * 60 * 1000)
  sweep.unref()
  const port = app.server!.port!
  return {
    url: `http://${ctx.config.server.hostname === '0.0.0.0' ? '127.0.0.1' : ctx.config.server.hostname}:${port}`,
    port,
    async stop() {
      clearInterval(sweep)
      await app.stop(true)
      ctx.close()
    },
  }
}
