import { z } from 'zod'
import { parseDuration, parseSize } from './units.ts'

/** Field types shared by both roles' config schemas. */

export const did = z.string().regex(/^did:[a-z]+:[a-zA-Z0-9._:%-]{1,2048}$/, 'must be a DID (did:plc:… or did:web:…)')
export const httpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL')
  .transform((u) => u.replace(/\/+$/, ''))
/** A human-unit field (`5GB`, `15m`): a string or number in the file, a number after parsing. */
const parsedBy = (parse: (v: string | number) => number) =>
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    try {
      return parse(v)
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message })
      return z.NEVER
    }
  })
export const size = parsedBy(parseSize)
export const duration = parsedBy(parseDuration)

/** `host:port` or `:port`. */
export const listenAddr = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]*):\d{1,5}$/, 'must be host:port or :port')

/** Splits a listen address; an empty host means all interfaces. */
export function splitAddr(addr: string): { hostname: string; port: number } {
  const [, host = '', port] = /^(.*):(\d+)$/.exec(addr) ?? []
  return { hostname: host.replace(/^\[|\]$/g, '') || '0.0.0.0', port: Number(port) }
}
