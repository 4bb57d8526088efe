import type { AppviewContext } from '../context.ts'
import { parseScopes, TokenRequestError, type IssuedToken } from './token-service.ts'
import type { PdsSession } from './pds-sessions.ts'

const MAX_FORM_BYTES = 64 * 1024

function tokenError(status: number, message: string, oauth = false): Response {
  // Docker's token clients read `errors`; OAuth2 clients read `error`/`error_description`. Send both.
  const body = {
    errors: [{ code: status === 401 ? 'UNAUTHORIZED' : status === 429 ? 'TOOMANYREQUESTS' : status === 503 ? 'UNAVAILABLE' : 'DENIED', message }],
    ...(oauth ? { error: status === 401 ? 'invalid_grant' : 'invalid_request', error_description: message } : {}),
  }
  return Response.json(body, { status, headers: { 'cache-control': 'no-store' } })
}

function basicCredentials(req: Request): { user: string; pass: string } | null {
  const h = req.headers.get('authorization')
  const m = h && /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(h)
  if (!m) return null
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8')
  const i = decoded.indexOf(':')
  return i < 0 ? null : { user: decoded.slice(0, i), pass: decoded.slice(i + 1) }
}

function tokenBody(t: IssuedToken, extra: Record<string, unknown> = {}) {
  return {
    token: t.token,
    access_token: t.token,
    expires_in: t.expiresIn,
    issued_at: t.issuedAt,
    ...(t.refreshToken ? { refresh_token: t.refreshToken } : {}),
    ...extra,
  }
}

/**
 * The docker token endpoint. GET: Basic auth with a handle (or DID) and an ATProto app password, or anonymous
 * for pulls; `offline_token=true` also returns a refresh (identity) token. POST: OAuth2 `password` and
 * `refresh_token` grants, as credential helpers use.
 */
export async function handleToken(ctx: AppviewContext, req: Request): Promise<Response> {
  const url = new URL(req.url)
  try {
    if (req.method === 'GET') {
      const creds = basicCredentials(req)
      if (req.headers.get('authorization') && !creds) return tokenError(401, 'malformed Authorization header')
      const session = creds ? await ctx.auth.login(creds.user, creds.pass) : null
      const offline = url.searchParams.get('offline_token') === 'true'
      const t = await ctx.auth.issue(session, parseScopes(url.searchParams.getAll('scope')), offline)
      return Response.json(tokenBody(t), { headers: { 'cache-control': 'no-store' } })
    }
    if (req.method !== 'POST') return tokenError(405, 'use GET or POST')
    const len = Number(req.headers.get('content-length') ?? 0)
    if (len > MAX_FORM_BYTES) return tokenError(400, 'request too large', true)
    const text = await req.text()
    if (text.length > MAX_FORM_BYTES) return tokenError(400, 'request too large', true)
    const form = new URLSearchParams(text)
    const grant = form.get('grant_type')
    let session: PdsSession
    let refresh: string | undefined
    if (grant === 'password') {
      const user = form.get('username')
      const pass = form.get('password')
      if (!user || !pass) return tokenError(400, 'username and password required', true)
      session = await ctx.auth.login(user, pass)
    } else if (grant === 'refresh_token') {
      refresh = form.get('refresh_token') ?? undefined
      if (!refresh) return tokenError(400, 'refresh_token required', true)
      session = ctx.auth.fromRefreshToken(refresh)
    } else {
      return tokenError(400, 'grant_type must be password or refresh_token', true)
    }
    const offline = grant === 'password' && form.get('access_type') === 'offline'
    const t = await ctx.auth.issue(session, parseScopes((form.get('scope') ?? '').split(' ')), offline)
    const scope = t.access.map((a) => `${a.type}:${a.name}:${a.actions.join(',')}`).join(' ')
    return Response.json(tokenBody(t, { scope, token_type: 'Bearer', ...(refresh ? { refresh_token: refresh } : {}) }), {
      headers: { 'cache-control': 'no-store' },
    })
  } catch (err) {
    if (err instanceof TokenRequestError) return tokenError(err.status, err.message, req.method === 'POST')
    ctx.log.error('token endpoint', err)
    return tokenError(503, 'internal error', req.method === 'POST')
  }
}
