import { createHoldContext } from '../hold/context.ts'
import { startHold } from '../hold/server.ts'
import { createLogger } from '../log.ts'
import { runUntilSignal, watchedPid } from './run-until-signal.ts'
import { loadHoldConfig } from './load-config.ts'

export async function serveHold(configFile: string | undefined): Promise<number> {
  const config = loadHoldConfig(configFile)
  const watched = watchedPid()
  const log = createLogger('hold')
  const ctx = await createHoldContext(config, { log })
  const running = startHold(ctx)
  log.info('hold ready', {
    did: ctx.identity.did,
    url: config.server.public_url,
    listen: `${config.server.hostname}:${running.port}`,
    storage: ctx.storage.name,
    owner: ctx.crew.getCaptain().owner,
    public: config.server.public,
  })
  console.log(`hold DID: ${ctx.identity.did}\nhold URL: ${config.server.public_url}`)
  return runUntilSignal(() => running.stop(), log, watched)
}
