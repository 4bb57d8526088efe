import pkg from '../package.json' with { type: 'json' }

/** The version every surface reports (`atcr version`, `/xrpc/_health`, describeServer). */
export const VERSION: string = pkg.version
