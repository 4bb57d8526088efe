import { finishAppviewConfig, appviewConfigSchema, type AppviewConfig } from '../config/appview.ts'
import { finishHoldConfig, HOLD_ENV_ALIASES, holdConfigSchema, type HoldConfig } from '../config/hold.ts'
import { ConfigError, loadConfig } from '../config/load.ts'
import type { z } from 'zod'

/** Loads a role's config or exits listing every problem by key. */
function load<S extends z.ZodType, T>(schema: S, prefix: string, file: string | undefined, finish: (c: z.output<S>) => T, aliases?: Record<string, string[]>): T {
  try {
    const { config, unknownEnv } = loadConfig(schema, { envPrefix: prefix, file, env: process.env, aliases })
    for (const name of unknownEnv) process.stderr.write(`atcr: warning: ${name} matches no ${prefix.toLowerCase()} config key (ignored)\n`)
    return finish(config)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`atcr: ${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
}

export const loadHoldConfig = (file: string | undefined): HoldConfig => load(holdConfigSchema, 'HOLD', file, finishHoldConfig, HOLD_ENV_ALIASES)
export const loadAppviewConfig = (file: string | undefined): AppviewConfig => load(appviewConfigSchema, 'APPVIEW', file, finishAppviewConfig)
