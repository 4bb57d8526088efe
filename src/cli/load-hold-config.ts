import { finishHoldConfig, HOLD_ENV_ALIASES, holdConfigSchema, type HoldConfig } from '../config/hold.ts'
import { ConfigError, loadConfig } from '../config/load.ts'

/** Loads the hold config or exits listing every problem by key. */
export function loadHoldConfig(file: string | undefined, env = process.env): HoldConfig {
  try {
    const { config, unknownEnv } = loadConfig(holdConfigSchema, { envPrefix: 'HOLD', file, env, aliases: HOLD_ENV_ALIASES })
    for (const name of unknownEnv) process.stderr.write(`atcr: warning: ${name} matches no hold config key (ignored)\n`)
    return finishHoldConfig(config)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`atcr: ${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
}
