import { describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

const SRC = join(import.meta.dir, '..', '..', 'src')

/** Every relative module specifier a file imports (static, re-export or dynamic), resolved to a src-relative path. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const specs = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.[^'"]+)['"]/g)].map((m) => m[1]!)
  return specs.map((s) => relative(SRC, resolve(dirname(file), s)))
}

function filesUnder(dir: string): string[] {
  return [...new Bun.Glob('**/*.ts').scanSync({ cwd: join(SRC, dir) })].map((f) => join(SRC, dir, f))
}

// DESIGN.md §4: the roles share src/atproto, src/oci, src/config, src/util and never import each other.
describe('role boundaries', () => {
  for (const [role, other] of [
    ['appview', 'hold'],
    ['hold', 'appview'],
  ] as const) {
    test(`src/${role} imports nothing from src/${other}`, () => {
      const files = filesUnder(role)
      expect(files.length).toBeGreaterThan(5)
      const crossing = files.flatMap((f) => importsOf(f).filter((p) => p.startsWith(`${other}/`)).map((p) => `${relative(SRC, f)} -> ${p}`))
      expect(crossing).toEqual([])
    })
  }

  test('the shared layers import neither role', () => {
    const crossing = ['atproto', 'oci', 'config', 'util']
      .flatMap(filesUnder)
      .flatMap((f) => importsOf(f).filter((p) => p.startsWith('hold/') || p.startsWith('appview/')).map((p) => `${relative(SRC, f)} -> ${p}`))
    expect(crossing).toEqual([])
  })
})
