import { existsSync, readFileSync, writeFileSync } from 'node:fs'

/**
 * A 32-byte random secret kept hex-encoded in a file only its owner can read, created on first use. Both roles
 * keep theirs in the data directory (the hold signs fs-driver URLs with one, the AppView encrypts PDS sessions).
 * `wx` refuses to overwrite a file another process created in the meantime.
 */
export function loadOrCreateSecret(path: string): Uint8Array {
  if (existsSync(path)) return new Uint8Array(Buffer.from(readFileSync(path, 'utf8').trim(), 'hex'))
  const secret = crypto.getRandomValues(new Uint8Array(32))
  writeFileSync(path, `${Buffer.from(secret).toString('hex')}\n`, { mode: 0o600, flag: 'wx' })
  return secret
}
