/**
 * A whole registry on 127.0.0.1 for client tests: PLC + PDS, a hold (fs, or S3 on radosgw), and the AppView,
 * each a real process. Users are PDS accounts with app passwords, as `docker login` uses them.
 */
import { startAppview, startHold, type HoldProc } from './hold.ts'
import { startPds, type Pds, type TestUser } from './pds.ts'
import { startRadosgw } from './radosgw.ts'

export interface StackUser extends TestUser {
  /** An app password, for `docker login -u <handle> -p <appPassword>`. */
  appPw: string
}

export interface Stack {
  pds: Pds
  hold: HoldProc
  appview: HoldProc
  /** host:port clients put in image references. */
  registry: string
  /** The hold's captain, and a second user for isolation tests. */
  alice: StackUser
  bob: StackUser
  user(prefix: string): Promise<StackUser>
}

export interface StackOptions {
  s3?: boolean
  /** With `s3`: bytes the radosgw OSD can hold (in memory; default 2 GiB). */
  s3MemstoreBytes?: number
  /** Anonymous pulls allowed (server.public). Default true. */
  publicHold?: boolean
  /** Let any authenticated user push to the hold (registration.allow_all_crew). Default true. */
  allowAllCrew?: boolean
  holdEnv?: Record<string, string>
  appviewEnv?: Record<string, string>
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const pds = await startPds()
  const user = async (prefix: string): Promise<StackUser> => {
    const u = await pds.createUser(prefix)
    return Object.assign(u, { appPw: await u.appPassword() })
  }
  const [alice, bob] = await Promise.all([user('alice'), user('bob')])
  const s3Env: Record<string, string> = {}
  if (opts.s3) {
    const s3 = await startRadosgw({ memstoreBytes: opts.s3MemstoreBytes })
    Object.assign(s3Env, { AWS_ACCESS_KEY_ID: s3.accessKey, AWS_SECRET_ACCESS_KEY: s3.secretKey, AWS_REGION: s3.region, S3_BUCKET: s3.bucket, S3_ENDPOINT: s3.endpoint })
  }
  // did:web over http is resolvable only for localhost (ATProto's rule), so the hold is named by localhost.
  const hold = await startHold(
    {
      HOLD_REGISTRATION_OWNER_DID: alice.did,
      HOLD_DATABASE_PLC_DIRECTORY_URL: pds.plcUrl,
      HOLD_SERVER_PUBLIC: String(opts.publicHold ?? true),
      HOLD_REGISTRATION_ALLOW_ALL_CREW: String(opts.allowAllCrew ?? true),
      ...s3Env,
      ...opts.holdEnv,
    },
    undefined,
    'localhost',
  )
  const appview = await startAppview({
    APPVIEW_DEFAULT_HOLD_DID: hold.did,
    APPVIEW_IDENTITY_PLC_URL: pds.plcUrl,
    APPVIEW_IDENTITY_ALLOW_LOOPBACK: 'true',
    APPVIEW_IDENTITY_HANDLE_RESOLVER_URL: pds.pdsUrl,
    ...opts.appviewEnv,
  })
  return { pds, hold, appview, registry: appview.url.replace(/^http:\/\//, ''), alice, bob, user }
}

/** A registry token for `scope`, the way docker gets one (Basic auth with an app password). */
export async function registryToken(stack: Stack, u: StackUser | null, scope: string | string[]): Promise<string> {
  const url = new URL(`${stack.appview.url}/auth/token`)
  url.searchParams.set('service', new URL(stack.appview.url).host)
  for (const s of [scope].flat()) url.searchParams.append('scope', s)
  const headers: Record<string, string> = {}
  if (u) headers.authorization = `Basic ${Buffer.from(`${u.handle}:${u.appPw}`).toString('base64')}`
  const res = await fetch(url, { headers })
  if (!res.ok) throw new Error(`token request failed: ${res.status} ${await res.text()}`)
  return ((await res.json()) as { token: string }).token
}
