import { readFileSync } from 'node:fs'
import YAML from 'yaml'
import type { z } from 'zod'

/**
 * Config layering shared by both roles: schema defaults -> YAML file -> environment.
 * Environment names are the prefix plus the YAML path joined with `_`, upper-cased
 * (`server.public_url` -> `HOLD_SERVER_PUBLIC_URL`); aliases map extra names (AWS_*) onto paths and lose to
 * the prefixed names.
 */

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
  }
}

type AnySchema = z.ZodType
type Def = { type: string; innerType?: AnySchema; in?: AnySchema; shape?: Record<string, AnySchema> }
const defOf = (s: AnySchema): Def => (s as unknown as { def: Def }).def

/** Strips defaults, optionals and transforms to reach the schema that describes the value's shape. */
export function unwrap(s: AnySchema): AnySchema {
  let cur = s
  for (;;) {
    const d = defOf(cur)
    if (d.innerType && ['default', 'optional', 'nullable', 'prefault', 'readonly'].includes(d.type)) cur = d.innerType
    else if (d.type === 'pipe' && d.in) cur = d.in
    else return cur
  }
}

export function objectShape(s: AnySchema): Record<string, AnySchema> | null {
  const inner = unwrap(s) as unknown as { shape?: Record<string, AnySchema> }
  return defOf(unwrap(s)).type === 'object' && inner.shape ? inner.shape : null
}

export interface Leaf {
  path: string[]
  schema: AnySchema
  envName: string
}

/** Every configurable leaf of a schema with the environment variable that overrides it. */
export function leaves(schema: AnySchema, prefix: string, path: string[] = []): Leaf[] {
  const shape = objectShape(schema)
  if (!shape) return [{ path, schema, envName: [prefix, ...path].join('_').toUpperCase() }]
  return Object.entries(shape).flatMap(([k, v]) => leaves(v, prefix, [...path, k]))
}

/** Turns an environment string into the value type the leaf expects, so zod sees booleans as booleans. */
function coerceEnv(leaf: Leaf, raw: string): unknown {
  const t = defOf(unwrap(leaf.schema)).type
  if (t === 'boolean') {
    if (/^(true|1|yes|on)$/i.test(raw)) return true
    if (/^(false|0|no|off)$/i.test(raw)) return false
    return raw // let zod report it
  }
  if (t === 'number') return raw.trim() === '' ? raw : Number(raw)
  if (t === 'record' || t === 'array' || t === 'object') {
    try {
      return YAML.parse(raw)
    } catch {
      return raw
    }
  }
  return raw
}

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj
  for (const k of path.slice(0, -1)) {
    const next = cur[k]
    if (next === undefined || next === null) cur[k] = {}
    else if (typeof next !== 'object' || Array.isArray(next)) throw new ConfigError([`${path.join('.')}: cannot set inside non-object ${k}`])
    cur = cur[k] as Record<string, unknown>
  }
  cur[path[path.length - 1]!] = value
}

export interface LoadOptions {
  /** `HOLD` or `APPVIEW`. */
  envPrefix: string
  /** YAML file path (`--config`); absent means defaults and environment only. */
  file?: string
  env?: Record<string, string | undefined>
  aliases?: Record<string, string[]>
}

export interface Loaded<T> {
  config: T
  /** Prefixed environment variables that match no key: probably typos, reported as warnings. */
  unknownEnv: string[]
}

export function loadConfig<S extends AnySchema>(schema: S, opts: LoadOptions): Loaded<z.output<S>> {
  const env = opts.env ?? process.env
  let raw: Record<string, unknown> = {}
  if (opts.file) {
    let text: string
    try {
      text = readFileSync(opts.file, 'utf8')
    } catch (e) {
      throw new ConfigError([`${opts.file}: ${(e as Error).message}`])
    }
    let doc: unknown
    try {
      doc = YAML.parse(text, { uniqueKeys: true }) ?? {}
    } catch (e) {
      throw new ConfigError([`${opts.file}: ${(e as Error).message}`])
    }
    if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError([`${opts.file}: top level must be a mapping`])
    raw = doc as Record<string, unknown>
  }

  const all = leaves(schema, opts.envPrefix)
  const byPath = new Map(all.map((l) => [l.path.join('.'), l]))
  for (const [name, path] of Object.entries(opts.aliases ?? {})) {
    const v = env[name]
    const leaf = byPath.get(path.join('.'))
    if (v !== undefined && v !== '' && leaf) setPath(raw, path, coerceEnv(leaf, v))
  }
  for (const leaf of all) {
    const v = env[leaf.envName]
    if (v !== undefined && v !== '') setPath(raw, leaf.path, coerceEnv(leaf, v))
  }
  const known = new Set(all.map((l) => l.envName))
  const unknownEnv = Object.keys(env).filter((k) => k.startsWith(`${opts.envPrefix}_`) && !known.has(k))

  const res = schema.safeParse(raw)
  if (!res.success) {
    throw new ConfigError(
      res.error.issues.map((i) => {
        const key = i.path.join('.') || '(top level)'
        const leaf = byPath.get(i.path.join('.'))
        const envHint = leaf && env[leaf.envName] !== undefined ? ` (from ${leaf.envName})` : ''
        return `${key}${envHint}: ${i.message}`
      }),
    )
  }
  return { config: res.data, unknownEnv }
}
