#!/usr/bin/env bun
import { parseArgs } from 'node:util'
import { trimDeps } from './trim-deps.ts'
import { VERSION } from './version.ts'

/**
 * The one executable: `atcr serve --role hold|appview`, `atcr config init`, `atcr hold crew …`,
 * `atcr healthcheck URL`, `atcr version`. Commands are loaded lazily so `healthcheck` (the image's
 * HEALTHCHECK) starts fast and touches nothing but the network.
 */

const HELP: Record<string, string> = {
  main: `atcr ${VERSION} — OCI registry over the AT Protocol

Usage: atcr <command> [options]

Commands:
  serve --role hold|appview [--config FILE]   run a role
  config init [FILE] --role hold|appview      write a fully commented config (stdout without FILE)
  hold crew ls|add|rm [...]                   manage the crew of a hold (run where its data dir is)
  healthcheck [URL]                           exit 0 if URL (default: the local hold) answers 2xx in 5 s
  version                                     print the version

Run 'atcr <command> --help' for a command's options.`,
  serve: `Usage: atcr serve --role hold|appview [--config FILE]

Starts a role. Configuration layers: built-in defaults -> YAML (--config) -> environment
(HOLD_* or APPVIEW_* with the YAML path joined by "_", e.g. HOLD_SERVER_PUBLIC_URL).
Stops on SIGINT or SIGTERM, and with ATCR_EXIT_WITH_PID=PID also once that process is gone.`,
  config: `Usage: atcr config init [FILE] --role hold|appview [--force]

Writes a fully commented YAML config generated from the schema; to stdout when FILE is omitted.
Refuses to overwrite FILE unless --force.`,
  hold: `Usage: atcr hold crew ls [--config FILE]
       atcr hold crew add DID [--permissions blob:read,blob:write] [--role ROLE] [--tier TIER] [--config FILE]
       atcr hold crew rm DID [--config FILE]

Edits the crew records in the hold's embedded repo directly (same config as 'serve').`,
  healthcheck: `Usage: atcr healthcheck [URL]

Exit status 0 when URL answers with a 2xx status within 5 seconds, 1 otherwise. Without URL: the local hold's
/xrpc/_health on the port of HOLD_SERVER_ADDR (default :8080), as the image's HEALTHCHECK uses it.`,
  version: `Usage: atcr version`,
}

/** The local hold's health URL from the same environment `serve` reads (scratch images have no shell to expand it). */
function defaultHealthUrl(env: Record<string, string | undefined>): string {
  const port = /:(\d+)$/.exec(env.HOLD_SERVER_ADDR ?? ':8080')?.[1] ?? '8080'
  return `http://127.0.0.1:${port}/xrpc/_health`
}

function fail(msg: string, code = 2): never {
  process.stderr.write(`atcr: ${msg}\n`)
  process.exit(code)
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(HELP.main)
    return cmd ? 0 : 2
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    if (!HELP[cmd]) fail(`unknown command "${cmd}"\n\n${HELP.main}`)
    console.log(HELP[cmd])
    return 0
  }
  switch (cmd) {
    case 'version':
    case '--version':
      console.log(VERSION)
      return 0
    case 'healthcheck': {
      const url = rest[0] ?? defaultHealthUrl(process.env)
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(5000) })
        return res.ok ? 0 : 1
      } catch {
        return 1
      }
    }
    case 'serve': {
      const { values } = parseArgs({ args: rest, options: { role: { type: 'string' }, config: { type: 'string', short: 'c' } } })
      if (values.role === 'hold') return (await import('./cli/serve-hold.ts')).serveHold(values.config)
      if (values.role === 'appview') return (await import('./cli/serve-appview.ts')).serveAppview(values.config)
      fail(`--role must be hold or appview\n\n${HELP.serve}`)
    }
    case 'config': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { role: { type: 'string' }, force: { type: 'boolean' } },
      })
      if (positionals[0] !== 'init') fail(HELP.config!)
      return (await import('./cli/config-init.ts')).configInit(values.role, positionals[1], !!values.force)
    }
    case 'hold': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          config: { type: 'string', short: 'c' },
          permissions: { type: 'string' },
          role: { type: 'string' },
          tier: { type: 'string' },
        },
      })
      if (positionals[0] !== 'crew') fail(HELP.hold!)
      return (await import('./cli/hold-crew.ts')).holdCrew(positionals.slice(1), values)
    }
    default:
      fail(`unknown command "${cmd}"\n\n${HELP.main}`)
  }
}

if (import.meta.main) {
  // Before any command module loads (they are imported lazily): see trim-deps.ts. Compiled builds have it
  // applied at build time by scripts/build.ts.
  Bun.plugin(trimDeps)
  main(process.argv.slice(2)).then(
    (code) => {
      // serve returns -1: keep running until a signal stops the server.
      if (code >= 0) process.exit(code)
    },
    (err) => {
      process.stderr.write(`atcr: ${err instanceof Error ? err.message : String(err)}\n`)
      process.exit(1)
    },
  )
}
