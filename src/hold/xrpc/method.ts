import { z } from 'zod'
import { verifyServiceToken } from '../../atproto/service-auth.ts'
import { authRequired, invalidRequest, XrpcError } from '../../atproto/xrpc-error.ts'
import type { HoldContext } from '../context.ts'
import { Lru } from '../../util/lru.ts'

/** The largest JSON body any hold procedure accepts; manifests' layer lists fit comfortably. */
export const MAX_JSON_BODY = 1024 * 1024

export interface XrpcCall<P, I> {
  ctx: HoldContext
  params: P
  input: I
  req: Request
  /** The caller's DID from a service token bound to this method, or null when no token was sent. */
  caller(): Promise<string | null>
  /** Like caller(), but a missing token is a 401. */
  requireCaller(): Promise<string>
}

/**
 * One XRPC method: its NSID, zod schemas for params and JSON input (validated at the edge), and a plain
 * handler. Returning a Response passes it through (CAR files, redirects); anything else is sent as JSON.
 */
export interface XrpcMethod<P = unknown, I = unknown> {
  nsid: string
  type: 'query' | 'procedure'
  params?: z.ZodType<P>
  /** JSON input schema; `raw` leaves the body unread for the handler to stream. */
  input?: z.ZodType<I> | 'raw'
  /** Also answer these HTTP methods (uploadPart takes PUT, getBlob answers HEAD). */
  extraMethods?: string[]
  handler(call: XrpcCall<P, I>): Promise<unknown>
}

export function defineMethod<P, I>(m: XrpcMethod<P, I>): XrpcMethod<P, I> {
  return m
}

/** Runs a method for a request: method check, params/input validation, auth wiring, output encoding. */
export async function runMethod(ctx: HoldContext, m: XrpcMethod, req: Request): Promise<Response> {
  const httpMethod = req.method.toUpperCase()
  const allowed = [m.type === 'query' ? 'GET' : 'POST', ...(m.type === 'query' ? ['HEAD'] : []), ...(m.extraMethods ?? [])]
  if (!allowed.includes(httpMethod)) {
    throw new XrpcError(405, 'InvalidRequest', `${m.nsid} is a ${m.type}; use ${allowed.join(' or ')}`)
  }
  const url = new URL(req.url)
  const rawParams: Record<string, string | string[]> = {}
  for (const [k, v] of url.searchParams) {
    const cur = rawParams[k]
    rawParams[k] = cur === undefined ? v : Array.isArray(cur) ? [...cur, v] : [cur, v]
  }
  const params = m.params ? parseOr400(m.params, rawParams, 'params') : rawParams

  let input: unknown
  if (m.input && m.input !== 'raw') {
    const type = req.headers.get('content-type') ?? ''
    if (!type.startsWith('application/json')) throw invalidRequest('expected an application/json body')
    const len = Number(req.headers.get('content-length') ?? 0)
    if (len > MAX_JSON_BODY) throw new XrpcError(413, 'PayloadTooLarge', `body exceeds ${MAX_JSON_BODY} bytes`)
    const text = await readLimited(req, MAX_JSON_BODY)
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      throw invalidRequest('body is not valid JSON')
    }
    input = parseOr400(m.input, json, 'input')
  }

  await ctx.crew.refreshIfStale()
  let cached: Promise<string | null> | undefined
  const caller = () => (cached ??= authenticate(ctx, req, m.nsid))
  const out = await m.handler({
    ctx,
    params,
    input,
    req,
    caller,
    requireCaller: async () => {
      const did = await caller()
      if (!did) throw authRequired()
      return did
    },
  })
  if (out instanceof Response) return out
  return Response.json(out ?? {})
}

function parseOr400<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const res = schema.safeParse(value)
  if (res.success) return res.data
  const msg = res.error.issues.map((i) => `${i.path.join('.') || what}: ${i.message}`).join('; ')
  // Lexicon-specific error names (InvalidDigest, InvalidPartNumber…) are carried in the zod issue's params.
  const named = res.error.issues.find((i) => i.code === 'custom' && (i as { params?: { error?: string } }).params?.error)
  const error = (named as { params?: { error?: string } } | undefined)?.params?.error ?? 'InvalidRequest'
  throw invalidRequest(`invalid ${what}: ${msg}`, error)
}

async function readLimited(req: Request, limit: number): Promise<string> {
  if (!req.body) return ''
  const chunks: Uint8Array[] = []
  let total = 0
  for await (const chunk of req.body) {
    total += chunk.byteLength
    if (total > limit) throw new XrpcError(413, 'PayloadTooLarge', `body exceeds ${limit} bytes`)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/**
 * Tokens already verified for a method: an AppView reuses one service token for all parts of a push, and a
 * secp256k1 verification in JS costs more than the rest of a getBlob redirect. Expiry is re-checked per use.
 */
const verifiedTokens = new Lru<string, { iss: string; exp: number }>({ maxEntries: 10_000, ttlMs: 3600_000 })

/** Verifies `Authorization: Bearer <service token>` for this hold and method; returns the issuer DID. */
async function authenticate(ctx: HoldContext, req: Request, lxm: string): Promise<string | null> {
  const header = req.headers.get('authorization')
  if (!header) return null
  const m = /^Bearer\s+(\S+)$/i.exec(header)
  if (!m) throw authRequired('Authorization must be a Bearer service token', 'InvalidToken')
  const key = `${ctx.identity.did}\0${lxm}\0${m[1]}`
  const hit = verifiedTokens.get(key)
  if (hit && hit.exp > Date.now() / 1000) return hit.iss
  const claims = await verifyServiceToken(m[1]!, { audience: ctx.identity.did, lxm, resolver: ctx.resolver })
  verifiedTokens.set(key, { iss: claims.iss, exp: claims.exp })
  return claims.iss
}

// Shared field schemas with the lexicons' error names.
const named = (error: string) => ({ params: { error } })
export const zDigest = z.string().max(128).refine((d) => /^sha256:[a-f0-9]{64}$/.test(d), { message: 'must be sha256:<64 lowercase hex>', ...named('InvalidDigest') })
export const zDid = z.string().max(2048).refine((d) => /^did:[a-z]+:[a-zA-Z0-9._:%-]+$/.test(d), { message: 'must be a DID' })
export const zUploadId = z.string().min(1).max(256).refine((u) => /^[A-Za-z0-9_-]+$/.test(u), { message: 'malformed upload id', ...named('InvalidUploadId') })
export const zPartNumber = z.coerce.number().int().refine((n) => n >= 1 && n <= 10000, { message: 'must be an integer from 1 to 10000', ...named('InvalidPartNumber') })
export const zNsid = z.string().regex(/^[a-zA-Z]([a-zA-Z0-9-]{0,62})(\.[a-zA-Z0-9-]{1,63}){2,}$/, 'must be an NSID')
export const zRkey = z.string().regex(/^[A-Za-z0-9._:~-]{1,512}$/, 'must be a record key').refine((k) => k !== '.' && k !== '..', 'must be a record key')
export const zLimit = (def: number, max: number) => z.coerce.number().int().min(1).max(max).default(def)
export const zBool = z.enum(['true', 'false']).transform((v) => v === 'true')
