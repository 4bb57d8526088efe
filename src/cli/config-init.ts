import { existsSync, writeFileSync } from 'node:fs'
import { appviewConfigSchema } from '../config/appview.ts'
import { holdConfigSchema } from '../config/hold.ts'
import { configTemplate } from '../config/template.ts'

export function configInit(role: string | undefined, file: string | undefined, force: boolean): number {
  if (role !== 'hold' && role !== 'appview') {
    process.stderr.write('atcr: config init needs --role hold|appview\n')
    return 2
  }
  const text =
    role === 'hold'
      ? configTemplate(holdConfigSchema, 'HOLD', 'atcr hold configuration (atcr serve --role hold --config FILE)')
      : configTemplate(appviewConfigSchema, 'APPVIEW', 'atcr appview configuration (atcr serve --role appview --config FILE)')
  if (!file) {
    process.stdout.write(text)
    return 0
  }
  if (existsSync(file) && !force) {
    process.stderr.write(`atcr: ${file} exists; use --force to overwrite\n`)
    return 1
  }
  writeFileSync(file, text, { mode: 0o600 })
  process.stderr.write(`wrote ${file}\n`)
  return 0
}
