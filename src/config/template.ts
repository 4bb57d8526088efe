import YAML from 'yaml'
import type { z } from 'zod'
import { leaves, objectShape } from './load.ts'

/**
 * `atcr config init`: a fully commented YAML document generated from a config schema, so the file, the
 * validation and the environment names can never disagree. Keys without a default are written commented out.
 */
export function configTemplate(schema: z.ZodType, envPrefix: string, title: string): string {
  const defaults = schema.parse({}) as Record<string, unknown>
  const envByPath = new Map(leaves(schema, envPrefix).map((l) => [l.path.join('.'), l.envName]))
  const lines: string[] = [
    `# ${title}`,
    '# Layers: these defaults -> this file (--config) -> environment variables.',
    `# Every key can be set from the environment: ${envPrefix}_ + the path with "_", e.g. ${[...envByPath.values()][0]}.`,
    '# Unknown keys are errors.',
    '',
  ]
  const walk = (s: z.ZodType, value: unknown, path: string[], indent: string) => {
    const shape = objectShape(s)!
    for (const [key, child] of Object.entries(shape)) {
      const p = [...path, key]
      const desc = (child as { description?: string }).description
      // Transformed keys (durations, sizes) default through `prefault`: show the input form ("15m"), not seconds.
      const d = (child as unknown as { def: { type: string; defaultValue?: unknown } }).def
      const v = d.type === 'prefault' && !objectShape(child) ? d.defaultValue : (value as Record<string, unknown> | undefined)?.[key]
      if (objectShape(child)) {
        if (desc) lines.push(`${indent}# ${desc}`)
        lines.push(`${indent}${key}:`)
        walk(child, v, p, `${indent}  `)
        lines.push('')
        continue
      }
      const env = envByPath.get(p.join('.'))
      if (desc) lines.push(`${indent}# ${desc}${env ? ` [${env}]` : ''}`)
      if (v === undefined) lines.push(`${indent}# ${key}:`)
      else if (typeof v === 'object' && v !== null && Object.keys(v).length === 0) lines.push(`${indent}${key}: ${Array.isArray(v) ? '[]' : '{}'}`)
      else {
        const rendered = YAML.stringify({ [key]: v }).trimEnd().split('\n')
        lines.push(...rendered.map((l) => indent + l))
      }
    }
  }
  walk(schema, defaults, [], '')
  return `${lines.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`
}
