import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { P256Keypair, verifySignature } from '@atproto/crypto'
import { Lru } from '../../util/lru.ts'

/** One grant of the docker token spec: `repository:alice.test/app:pull,push`. */
export interface Access {
  type: 'repository' | 'registry'
  name: string
  actions: string[]
}

export interface RegistryClaims {
  iss: string
  aud: string
  /** The user's DID; empty for anonymous tokens. */
  sub: string
  iat: number
  nbf: number
  exp: number
  jti: string
  access: Access[]
  /** The PDS session this token acts through (AppView-internal, opaque to clients). */
  sid?: string
}

export class TokenError extends Error {}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')

/**
 * Registry bearer tokens: ES256 JWTs signed with a P-256 key kept in the data directory (0600), so tokens survive
 * restarts and several AppView instances sharing the key accept each other's tokens.
 */
export class RegistryTokens {
  /**
   * Verified tokens by their exact string: a docker push or pull presents the same token on every request, and
   * a P-256 verification costs far more than the rest of a cached manifest HEAD. Expiry is still checked per use.
   */
  private readonly verified = new Lru<string, RegistryClaims>({ maxEntries: 10_000, ttlMs: 10 * 60_000 })

  private constructor(
    private readonly key: P256Keypair,
    readonly issuer: string,
    readonly audience: string,
  ) {}

  static async load(path: string, issuer: string, audience: string): Promise<RegistryTokens> {
    let key: P256Keypair
    if (existsSync(path)) {
      key = await P256Keypair.import(readFileSync(path, 'utf8').trim(), { exportable: true })
    } else {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
      key = await P256Keypair.create({ exportable: true })
      writeFileSync(path, `${Buffer.from(await key.export()).toString('hex')}\n`, { mode: 0o600, flag: 'wx' })
      chmodSync(path, 0o600)
    }
    return new RegistryTokens(key, issuer, audience)
  }

  /** The key's did:key, published for anyone verifying our tokens. */
  publicKey(): string {
    return this.key.did()
  }

  async issue(sub: string, access: Access[], ttlSeconds: number, sid?: string, now = Date.now()): Promise<{ token: string; claims: RegistryClaims }> {
    const iat = Math.floor(now / 1000)
    const claims: RegistryClaims = {
      iss: this.issuer,
      aud: this.audience,
      sub,
      iat,
      nbf: iat - 5,
      exp: iat + Math.ceil(ttlSeconds),
      jti: Buffer.from(crypto.getRandomValues(new Uint8Array(12))).toString('base64url'),
      access,
      ...(sid ? { sid } : {}),
    }
    const head = `${b64({ typ: 'JWT', alg: 'ES256', kid: this.key.did() })}.${b64(claims)}`
    const sig = await this.key.sign(new TextEncoder().encode(head))
    return { token: `${head}.${Buffer.from(sig).toString('base64url')}`, claims }
  }

  /** Verifies signature, issuer, audience and time; throws TokenError with a reason clients may see. */
  async verify(token: string, now = Date.now()): Promise<RegistryClaims> {
    const hit = this.verified.get(token)
    if (hit) {
      if (hit.exp <= Math.floor(now / 1000)) throw new TokenError('token expired')
      return hit
    }
    const claims = await this.verifyUncached(token, now)
    this.verified.set(token, claims)
    return claims
  }

  private async verifyUncached(token: string, now: number): Promise<RegistryClaims> {
    if (token.length > 8192) throw new TokenError('token too long')
    const parts = token.split('.')
    if (parts.length !== 3) throw new TokenError('malformed token')
    const [h, p, s] = parts as [string, string, string]
    let header: { alg?: string }
    let claims: RegistryClaims
    try {
      header = JSON.parse(Buffer.from(h, 'base64url').toString())
      claims = JSON.parse(Buffer.from(p, 'base64url').toString())
    } catch {
      throw new TokenError('malformed token')
    }
    if (header.alg !== 'ES256') throw new TokenError('unsupported token algorithm')
    const ok = await verifySignature(this.key.did(), new TextEncoder().encode(`${h}.${p}`), Buffer.from(s, 'base64url'), { jwtAlg: 'ES256' }).catch(
      () => false,
    )
    if (!ok) throw new TokenError('bad token signature')
    const t = Math.floor(now / 1000)
    if (claims.iss !== this.issuer || claims.aud !== this.audience) throw new TokenError('token is for another service')
    if (typeof claims.exp !== 'number' || claims.exp <= t) throw new TokenError('token expired')
    if (typeof claims.nbf === 'number' && claims.nbf > t + 30) throw new TokenError('token not yet valid')
    if (!Array.isArray(claims.access)) throw new TokenError('malformed token')
    return claims
  }
}

/** Whether `claims` grant `action` on repository `name`. */
export function allows(claims: Pick<RegistryClaims, 'access'>, type: Access['type'], name: string, action: string): boolean {
  return claims.access.some((a) => a.type === type && a.name === name && (a.actions.includes(action) || a.actions.includes('*')))
}
