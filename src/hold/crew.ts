import type { HoldRepo, WriteInput } from './repo/repo.ts'

export const CAPTAIN = 'io.atcr.hold.captain'
export const CREW = 'io.atcr.hold.crew'

export const BLOB_READ = 'blob:read'
export const BLOB_WRITE = 'blob:write'
/** Lets a crew member manage other crew (putRecord/deleteRecord on io.atcr.hold.crew). */
export const CREW_ADMIN = 'crew:admin'
export const KNOWN_PERMISSIONS = [BLOB_READ, BLOB_WRITE, CREW_ADMIN] as const

export interface Captain {
  owner: string
  public: boolean
  allowAllCrew: boolean
  enableBlueskyPosts: boolean
  deployedAt: string
  region?: string
  provider?: string
  successor?: string
}

export interface CrewMember {
  rkey: string
  member: string
  role: string
  permissions: string[]
  addedAt: string
  tier?: string
}

/** rkey for a member's crew record: the DID itself when it is a valid record key (did:plc), else a hash. */
export function crewRkey(did: string): string {
  if (/^[A-Za-z0-9._:~-]{1,512}$/.test(did)) return did
  return `m-${new Bun.CryptoHasher('sha256').update(did).digest('hex').slice(0, 32)}`
}

/**
 * Who may do what on this hold, read from the captain and crew records in the hold's own repo.
 * Crew is cached in memory and reloaded after every commit that touches it (the collection is small).
 */
export class CrewDirectory {
  private captain: Captain | null = null
  private byMember = new Map<string, CrewMember>()
  private loadedRev: string | null = null

  constructor(private readonly repo: HoldRepo) {}

  /**
   * Reloads when the repo moved on without us (a commit by the `atcr hold crew` CLI in another process).
   * One indexed SELECT per request; the reload itself only happens after such a commit.
   */
  async refreshIfStale(): Promise<void> {
    if (this.repo.latestCommit()?.rev !== this.loadedRev) await this.reload()
  }

  /**
   * A commit of ours that did not touch captain or crew: if it sits right on top of what we loaded, the cache is
   * still current, so the next request need not re-read the crew (pushes commit layer and stats records).
   */
  advance(since: string | null, rev: string): void {
    if (since !== null && since === this.loadedRev) this.loadedRev = rev
  }

  async reload(): Promise<void> {
    this.loadedRev = this.repo.latestCommit()?.rev ?? null
    const cap = await this.repo.getRecord(CAPTAIN, 'self')
    this.captain = cap ? (cap.value as unknown as Captain) : null
    const next = new Map<string, CrewMember>()
    for (const { rkey, cid } of this.repo.scanCollection(CREW)) {
      const v = (await this.repo.readRecordByCid(cid)) as unknown as Omit<CrewMember, 'rkey'>
      if (typeof v.member === 'string') next.set(v.member, { ...v, rkey, permissions: Array.isArray(v.permissions) ? v.permissions : [] })
    }
    this.byMember = next
  }

  /** Reloads when a write touched the captain or crew collections. */
  touches(writes: WriteInput[]): boolean {
    return writes.some((w) => w.collection === CAPTAIN || w.collection === CREW)
  }

  getCaptain(): Captain {
    if (!this.captain) throw new Error('hold not bootstrapped: no captain record')
    return this.captain
  }

  isCaptain(did: string | null): boolean {
    return !!did && this.captain?.owner === did
  }

  member(did: string): CrewMember | undefined {
    return this.byMember.get(did)
  }

  list(): CrewMember[] {
    return [...this.byMember.values()]
  }

  /** Pull: anyone on a public hold; otherwise the captain or crew with blob:read (blob:write implies it). */
  canRead(did: string | null): boolean {
    if (this.getCaptain().public) return true
    if (!did) return false
    if (this.isCaptain(did)) return true
    const p = this.byMember.get(did)?.permissions ?? []
    return p.includes(BLOB_READ) || p.includes(BLOB_WRITE)
  }

  /** Push: the captain, crew with blob:write, or any authenticated user when allowAllCrew is on. */
  canWrite(did: string | null): boolean {
    if (!did) return false
    if (this.isCaptain(did)) return true
    if (this.byMember.get(did)?.permissions.includes(BLOB_WRITE)) return true
    return this.getCaptain().allowAllCrew
  }

  /** Crew management: the captain or crew holding crew:admin (or the admin role). */
  canAdminCrew(did: string | null): boolean {
    if (!did) return false
    if (this.isCaptain(did)) return true
    const m = this.byMember.get(did)
    return !!m && (m.role === 'admin' || m.role === 'owner' || m.permissions.includes(CREW_ADMIN))
  }
}
