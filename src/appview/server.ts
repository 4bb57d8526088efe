import { Elysia } from 'elysia'
import { VERSION } from '../version.ts'
import { handleToken } from './auth/token-endpoint.ts'
import type { AppviewContext } from './context.ts'
import { handleRegistry } from './registry/router.ts'

/** The AppView's HTTP surface: the OCI Distribution API under /v2/, the docker token endpoint, health. */
export function createAppviewApp(ctx: AppviewContext) {
  const timed = (handler: (req: Request) => Promise<Response>) =>
    ctx.config.server.access_log
      ? async (req: Request) => {
          const t0 = performance.now()
          const res = await handler(req)
          ctx.log.info('request', { method: req.method, path: new URL(req.url).pathname, status: res.status, ms: Math.round(performance.now() - t0) })
          return res
        }
      : handler
  const registry = timed((req) => handleRegistry(ctx, req))
  const token = timed((req) => handleToken(ctx, req))
  return new Elysia({ serve: { maxRequestBodySize: ctx.config.uploads.max_blob_size + 1024 * 1024 } })
    .get('/', () => new Response(`atcr ${VERSION}: an OCI registry over the AT Protocol.\nPush: docker push ${ctx.config.registry_domains[0]}/<handle>/<repo>:<tag>\n`))
    .get('/xrpc/_health', () => ({ version: VERSION }))
    .all('/auth/token', ({ request }) => token(request), { parse: 'none' })
    .all('/v2', ({ request }) => registry(request), { parse: 'none' })
    .all('/v2/*', ({ request }) => registry(request), { parse: 'none' })
}

export interface RunningAppview {
  port: number
  stop(): Promise<void>
}

export function startAppview(ctx: AppviewContext): RunningAppview {
  const app = createAppviewApp(ctx).listen({ hostname: ctx.config.server.hostname, port: ctx.config.server.port, idleTimeout: 255 })
  const sweep = setInterval(() => void ctx.uploads.sweep().catch((err) => ctx.log.warn('upload sweep failed', { err: String(err) })), 5 * 60_000)
  sweep.unref()
  return {
    port: app.server!.port!,
    async stop() {
      clearInterval(sweep)
      await app.stop(true)
      ctx.close()
    },
  }
}
