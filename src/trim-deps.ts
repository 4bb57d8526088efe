import type { BunPlugin } from 'bun'

const IDENTITY_DEFAULT_FETCH = /[\\/]@atproto[\\/]identity[\\/]dist[\\/]fetch\.js$/

/**
 * Keeps code atcr never runs out of memory. `@atproto/identity` builds its default SSRF-safe fetch from
 * `@atproto-labs/fetch-node`, which loads three bundled undici versions (about 20 MiB of resident memory per
 * process), but only when a resolver is constructed without a `fetch`. Both roles always pass the guarded fetch
 * from src/atproto/identity.ts, so that module is replaced by one whose `createDefaultFetch` throws: a resolver
 * built without our fetch fails loudly instead of quietly dropping the guard.
 *
 * Registered by src/main.ts before it loads a command (runtime plugin) and by scripts/build.ts for the compiled
 * executable. Where neither runs (unit tests importing modules directly), the original module loads and
 * behaviour is the same, only heavier.
 */
export const trimDeps: BunPlugin = {
  name: 'atcr-trim-deps',
  setup(build) {
    build.onLoad({ filter: IDENTITY_DEFAULT_FETCH }, () => ({
      contents:
        'export function createDefaultFetch() {\n' +
        "  throw new Error('atcr: @atproto/identity resolvers must be given the guarded fetch from src/atproto/identity.ts')\n" +
        '}\n',
      loader: 'js',
    }))
  },
}
