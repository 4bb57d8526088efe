import { BLOB_READ, BLOB_WRITE, CREW, crewRkey, KNOWN_PERMISSIONS } from '../hold/crew.ts'
import { createHoldContext } from '../hold/context.ts'
import { createLogger } from '../log.ts'
import { loadHoldConfig } from './load-config.ts'

const DID_RE = /^did:[a-z]+:[a-zA-Z0-9._:%-]+$/

/** `atcr hold crew ls|add|rm`: the operator's shell access to the data dir stands in for captain auth. */
export async function holdCrew(args: string[], opts: { config?: string; permissions?: string; role?: string; tier?: string }): Promise<number> {
  const [action, did] = args
  if (!action || !['ls', 'add', 'rm'].includes(action)) {
    process.stderr.write('usage: atcr hold crew ls|add|rm [DID]\n')
    return 2
  }
  if (action !== 'ls' && (!did || !DID_RE.test(did))) {
    process.stderr.write(`atcr: ${action} needs a member DID (did:plc:… or did:web:…)\n`)
    return 2
  }
  const permissions = opts.permissions ? opts.permissions.split(',').map((p) => p.trim()).filter(Boolean) : [BLOB_READ, BLOB_WRITE]
  const unknown = permissions.filter((p) => !(KNOWN_PERMISSIONS as readonly string[]).includes(p))
  if (unknown.length) {
    process.stderr.write(`atcr: unknown permission(s) ${unknown.join(', ')} (known: ${KNOWN_PERMISSIONS.join(', ')})\n`)
    return 2
  }
  const ctx = await createHoldContext(loadHoldConfig(opts.config), { log: createLogger('hold-cli', () => {}) })
  try {
    if (action === 'ls') {
      for (const m of ctx.crew.list()) console.log(`${m.member}\t${m.role}\t${m.permissions.join(',')}\t${m.tier ?? '-'}`)
      return 0
    }
    const existing = ctx.crew.member(did!)
    if (action === 'rm') {
      if (!existing) {
        process.stderr.write(`atcr: ${did} is not crew\n`)
        return 1
      }
      await ctx.writeRecords([{ action: 'delete', collection: CREW, rkey: existing.rkey }])
      console.log(`removed ${did}`)
      return 0
    }
    if (opts.tier && !ctx.quota.tiers.some((t) => t.name === opts.tier)) {
      process.stderr.write(`atcr: unknown tier ${opts.tier}\n`)
      return 2
    }
    await ctx.writeRecords([
      {
        action: existing ? 'update' : 'create',
        collection: CREW,
        rkey: existing?.rkey ?? crewRkey(did!),
        record: {
          $type: CREW,
          member: did!,
          role: opts.role ?? existing?.role ?? 'member',
          permissions,
          addedAt: existing?.addedAt ?? new Date().toISOString(),
          ...((opts.tier ?? existing?.tier) ? { tier: opts.tier ?? existing?.tier } : {}),
        },
      },
    ])
    console.log(`${existing ? 'updated' : 'added'} ${did} (${permissions.join(',')})`)
    return 0
  } finally {
    ctx.close()
  }
}
