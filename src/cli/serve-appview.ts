import { createAppviewContext } from '../appview/context.ts'
import { startAppview } from '../appview/server.ts'
import { createLogger } from '../log.ts'
import { runUntilSignal, watchedPid } from './run-until-signal.ts'
import { loadAppviewConfig } from './load-config.ts'

export async function serveAppview(configFile: string | undefined): Promise<number> {
  const config = loadAppviewConfig(configFile)
  const watched = watchedPid()
  const log = createLogger('appview')
  const ctx = await createAppviewContext(config, { log })
  const running = startAppview(ctx)
  log.info('appview ready', {
    url: config.server.base_url,
    listen: `${config.server.hostname}:${running.port}`,
    registry: config.registry_domains[0],
    default_hold: config.default_hold_did,
  })
  console.log(`registry: ${config.registry_domains[0]}\nappview URL: ${config.server.base_url}`)
  return runUntilSignal(() => running.stop(), log, watched)
}
