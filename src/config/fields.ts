import { z } from 'zod'
import { parseDuration, parseSize } from './units.ts'

/** Field types shared by both roles' config schemas. */

export const did = z.string().regex(/^did:[a-z]+:[a-zA-Z0-9._:%-]{1,2048}$/, 'must be a DID (did:plc:… or did:web:…)')
export const httpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL')
  .transform((u) => u.replace(/\/+$/, ''))
export const size = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseSize(v)
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message })
    return z.NEVER
  }
})
export const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseDuration(v)
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message })
    return z.NEVER
  }
})
