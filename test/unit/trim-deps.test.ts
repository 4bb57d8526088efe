import { describe, expect, test } from 'bun:test'
import { join } from 'node:path'

const ROOT = join(import.meta.dir, '..', '..')

/** Runs a snippet in a fresh Bun with the trim plugin registered, as src/main.ts does; returns its stdout lines. */
function run(snippet: string): string[] {
  const code = `import { trimDeps } from ${JSON.stringify(join(ROOT, 'src/trim-deps.ts'))}
Bun.plugin(trimDeps)
const id = await import('@atproto/identity')
${snippet}`
  const p = Bun.spawnSync(['bun', '-e', code], { cwd: ROOT })
  if (p.exitCode !== 0) throw new Error(p.stderr.toString())
  return p.stdout.toString().trim().split('\n')
}

describe('trim-deps plugin', () => {
  test('a resolver built without a fetch fails loudly instead of using an unguarded default', () => {
    const out = run(`for (const make of [() => new id.DidResolver({}), () => new id.HandleResolver({}), () => new id.IdResolver({})]) {
  try { make(); console.log('constructed') } catch (err) { console.log(err.message) }
}`)
    expect(out).toHaveLength(3)
    for (const line of out) expect(line).toContain('must be given the guarded fetch')
  })

  test('resolvers given a fetch work, and fetch-node is never loaded', () => {
    const out = run(`const calls = []
const fake = async (url) => { calls.push(String(url)); return Response.json({ id: 'did:plc:abc', alsoKnownAs: [], verificationMethod: [], service: [] }) }
const r = new id.DidResolver({ plcUrl: 'https://plc.example', fetch: fake })
const doc = await r.resolve('did:plc:abc')
console.log(doc?.id, calls.length)
console.log(Object.keys(require.cache).some((k) => k.includes('fetch-node') || k.includes('undici')))`)
    expect(out[0]).toBe('did:plc:abc 1')
    expect(out[1]).toBe('false')
  })
})
