/**
 * Verification of ATProto inter-service auth tokens (the JWTs a PDS mints with
 * `com.atproto.server.getServiceAuth`), as the hold does for every authenticated request.
 *
 * Follows `verifyJwt` of the official `@atproto/xrpc-server` (same checks, same error names) without depending
 * on it: its package entry loads express and ws at import, and even its internal `dist/auth.js` pulls in some
 * 300 modules (pino, lexicon machinery) and a second copy of `@atproto/crypto`. The cryptography itself is
 * `@atproto/crypto`'s `verifySignature`. Stricter than the official one:
 * - `alg` must be ES256K or ES256 (anything else, `none` included, is `BadJwt`);
 * - `iss` must be a bare `did:plc` / `did:web` DID. Fragments (`did:…#atproto_labeler`) name service keys of
 *   labelers and feed generators, never an account, and holds only serve accounts, so they are refused
 *   (`BadJwtIss`) rather than mapped to some other verification method;
 * - `exp` is required and lifetimes are bounded: `exp - iat` (and `exp - now`) may not exceed
 *   `maxLifetimeSeconds` (default 3600, the most `getServiceAuth` grants; the PDS default is 60 s);
 *   `iat` may not lie more than 5 minutes in the future.
 * On a bad signature the issuer's key is fetched again once (key rotation); `IdentityResolver` rate-limits
 * those forced refreshes per DID. An issuer whose identity cannot be fetched (network) gives 502
 * `UpstreamFailure`; every other failure is 401 with the xrpc-server error names.
 */
import { verifySignature } from '@atproto/crypto'
import { type IdentityResolver, IdentityError, isSupportedDid } from './identity.ts'
import { XrpcError } from './xrpc-error.ts'

export type ServiceTokenClaims = { iss: string; aud: string; lxm?: string; exp: number; iat?: number; jti?: string }

export type VerifyServiceTokenOptions = {
  /** Our own DID (the hold's), which `aud` must equal; several when a service answers to more than one. */
  audience: string | string[]
  /** The XRPC method being called, which `lxm` must equal; null accepts any (or none). */
  lxm: string | null
  resolver: Pick<IdentityResolver, 'resolveAtprotoKey'>
  /** Clock in milliseconds. */
  now?: () => number
  /** Longest accepted token lifetime. Default 3600 s. */
  maxLifetimeSeconds?: number
}

export const SERVICE_JWT_ALGS = ['ES256K', 'ES256'] as const
const MAX_TOKEN_LENGTH = 8192
const MAX_FUTURE_IAT_SECONDS = 300
const B64URL_RE = /^[A-Za-z0-9_-]+$/

const fail = (error: string, message: string) => new XrpcError(401, error, message)

export async function verifyServiceToken(token: string, opts: VerifyServiceTokenOptions): Promise<ServiceTokenClaims> {
  const nowSec = (opts.now ?? Date.now)() / 1000
  const maxLifetime = opts.maxLifetimeSeconds ?? 3600

  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) throw fail('BadJwt', 'poorly formatted jwt')
  const parts = token.split('.')
  if (parts.length !== 3 || !parts.every((p) => B64URL_RE.test(p))) throw fail('BadJwt', 'poorly formatted jwt')
  const [headerB64, payloadB64, sigB64] = parts as [string, string, string]

  const header = decodeJson(headerB64)
  if (typeof header.alg !== 'string') throw fail('BadJwt', 'poorly formatted jwt')
  if (!(SERVICE_JWT_ALGS as readonly string[]).includes(header.alg)) {
    throw fail('BadJwt', `unsupported jwt alg "${String(header.alg).slice(0, 20)}"`)
  }
  // Service tokens are neither OAuth access tokens, refresh tokens nor DPoP proofs.
  if (header.typ === 'at+jwt' || header.typ === 'refresh+jwt' || header.typ === 'dpop+jwt') {
    throw fail('BadJwtType', `Invalid jwt type "${header.typ}"`)
  }
  if (header.crit !== undefined) throw fail('BadJwt', 'unsupported critical jwt header')

  const p = decodeJson(payloadB64)
  if (
    typeof p.iss !== 'string' ||
    typeof p.aud !== 'string' ||
    typeof p.exp !== 'number' ||
    !Number.isFinite(p.exp) ||
    (p.iat !== undefined && (typeof p.iat !== 'number' || !Number.isFinite(p.iat))) ||
    (p.lxm !== undefined && typeof p.lxm !== 'string') ||
    (p.jti !== undefined && typeof p.jti !== 'string') ||
    (p.nonce !== undefined && typeof p.nonce !== 'string')
  ) {
    throw fail('BadJwt', 'poorly formatted jwt')
  }
  const claims: ServiceTokenClaims = { iss: p.iss, aud: p.aud, exp: p.exp }
  if (p.lxm !== undefined) claims.lxm = p.lxm
  if (p.iat !== undefined) claims.iat = p.iat as number
  if (p.jti !== undefined) claims.jti = p.jti

  if (nowSec > claims.exp) throw fail('JwtExpired', 'jwt expired')
  if (claims.iat !== undefined) {
    if (claims.iat > nowSec + MAX_FUTURE_IAT_SECONDS) throw fail('BadJwt', 'jwt issued in the future')
    if (claims.exp - claims.iat > maxLifetime) throw fail('BadJwt', `jwt lifetime exceeds ${maxLifetime} s`)
  }
  if (claims.exp - nowSec > maxLifetime + MAX_FUTURE_IAT_SECONDS) {
    throw fail('BadJwt', `jwt lifetime exceeds ${maxLifetime} s`)
  }

  const audiences = Array.isArray(opts.audience) ? opts.audience : [opts.audience]
  if (!audiences.includes(claims.aud)) throw fail('BadJwtAudience', 'jwt audience does not match service did')
  if (opts.lxm !== null && claims.lxm !== opts.lxm) {
    throw fail(
      'BadJwtLexiconMethod',
      claims.lxm !== undefined
        ? `bad jwt lexicon method ("lxm"). must match: ${opts.lxm}`
        : `missing jwt lexicon method ("lxm"). must match: ${opts.lxm}`,
    )
  }
  if (!isSupportedDid(claims.iss)) throw fail('BadJwtIss', 'jwt iss is not a did:plc or did:web account DID')

  const msg = new TextEncoder().encode(`${headerB64}.${payloadB64}`)
  const sig = new Uint8Array(Buffer.from(sigB64, 'base64url'))
  const key = await signingKey(opts.resolver, claims.iss, false)
  if (await checkSig(key, msg, sig, header.alg)) return claims
  // Perhaps the key was rotated since we cached the document: look again (rate-limited per DID).
  const fresh = await signingKey(opts.resolver, claims.iss, true)
  if (fresh !== key && (await checkSig(fresh, msg, sig, header.alg))) return claims
  throw fail('BadJwtSignature', 'jwt signature does not match jwt issuer')
}

function decodeJson(b64: string): Record<string, unknown> {
  let v: unknown
  try {
    v = JSON.parse(Buffer.from(b64, 'base64url').toString('utf8'))
  } catch {
    throw fail('BadJwt', 'poorly formatted jwt')
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw fail('BadJwt', 'poorly formatted jwt')
  return v as Record<string, unknown>
}

async function signingKey(
  resolver: Pick<IdentityResolver, 'resolveAtprotoKey'>,
  iss: string,
  forceRefresh: boolean,
): Promise<string> {
  try {
    return await resolver.resolveAtprotoKey(iss, forceRefresh)
  } catch (err) {
    if (err instanceof IdentityError && err.kind === 'unavailable') {
      throw new XrpcError(502, 'UpstreamFailure', `could not resolve jwt issuer ${iss}`)
    }
    if (err instanceof XrpcError) throw err
    throw fail('BadJwtIss', `could not resolve a signing key for jwt issuer ${iss}`)
  }
}

/** False (never throws) when the signature is wrong or the key's algorithm is not the token's `alg`. */
async function checkSig(didKey: string, msg: Uint8Array, sig: Uint8Array, alg: string): Promise<boolean> {
  try {
    // Malleable (high-S) signatures are accepted, as the official verifier does for JWTs: other ATProto
    // implementations produce them, and a JWT's validity does not rest on the signature being unique.
    return await verifySignature(didKey, msg, sig, { jwtAlg: alg, allowMalleableSig: true })
  } catch {
    return false
  }
}
