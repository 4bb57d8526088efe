/** Human units in config files: sizes (`5GB`, `512MiB`) and durations (`15m`, `1h30m`, `90s`). */

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  pb: 1e15,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
  pib: 2 ** 50,
}

/** Parses `5GB` (decimal, as the original's quota docs use) or `5GiB` (binary); a bare number is bytes. */
export function parseSize(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isSafeInteger(input) || input < 0) throw new Error(`invalid size: ${input}`)
    return input
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]i?b|b)?\s*$/i.exec(input)
  if (!m) throw new Error(`invalid size "${input}" (examples: 500MB, 5GB, 1.5TiB)`)
  const n = Number(m[1]) * SIZE_UNITS[(m[2] ?? 'b').toLowerCase()]!
  if (!Number.isSafeInteger(Math.round(n))) throw new Error(`size too large: ${input}`)
  return Math.round(n)
}

/** Formats bytes the way `listTiers` shows them: the largest decimal unit with up to two decimals. */
export function formatSize(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB']
  let v = bytes
  let i = 0
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000
    i++
  }
  return `${Number.isInteger(v) ? v : Number(v.toFixed(2))} ${units[i]}`
}

const DURATION_UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }

/** Parses Go-style durations (`15m`, `1h30m`, `90s`, `500ms`) into seconds; a bare number is seconds. */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') {
    if (!(input >= 0)) throw new Error(`invalid duration: ${input}`)
    return input
  }
  const s = input.trim()
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s)
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy
  let total = 0
  let pos = 0
  let m: RegExpExecArray | null
  while ((m = re.exec(s))) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!
    pos = re.lastIndex
  }
  if (pos !== s.length || s.length === 0) throw new Error(`invalid duration "${input}" (examples: 90s, 15m, 1h30m)`)
  return total
}
