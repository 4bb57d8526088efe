/**
 * Minimal structured logging: one line per event on stderr, `level msg key=value…`. Callers must never pass
 * secrets (tokens, keys, passwords); errors are reduced to their message unless ATCR_DEBUG is set.
 */
export type Logger = {
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, err?: unknown, fields?: Record<string, unknown>): void
}

const debug = !!process.env.ATCR_DEBUG

function fmt(fields?: Record<string, unknown>): string {
  if (!fields) return ''
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
    .join('')
}

export function createLogger(name: string, sink: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Logger {
  const line = (level: string, msg: string, fields?: Record<string, unknown>) =>
    sink(`${new Date().toISOString()} ${level} [${name}] ${msg}${fmt(fields)}`)
  return {
    info: (msg, fields) => line('INFO', msg, fields),
    warn: (msg, fields) => line('WARN', msg, fields),
    error: (msg, err, fields) => {
      const detail = err instanceof Error ? (debug ? err.stack : err.message) : err === undefined ? undefined : String(err)
      line('ERROR', msg, { ...fields, err: detail })
    },
  }
}
