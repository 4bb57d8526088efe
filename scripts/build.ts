/**
 * Builds the single executable (`dist/atcr`, or the path given as the first argument): minified, with a source
 * map, and with the build plugins of src/trim-deps.ts (the CLI `bun build` cannot take plugins).
 */
import { trimDeps } from '../src/trim-deps.ts'

const outfile = process.argv[2] ?? 'dist/atcr'
const result = await Bun.build({
  entrypoints: [new URL('../src/main.ts', import.meta.url).pathname],
  compile: { outfile },
  minify: true,
  sourcemap: 'linked',
  plugins: [trimDeps],
})
for (const log of result.logs) console.error(log)
if (!result.success) process.exit(1)
console.log(`built ${outfile}`)
