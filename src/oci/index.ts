/**
 * OCI protocol knowledge without I/O (DESIGN §4): error codes and responses, digests, repository names and
 * references, token scopes, media types, manifest validation, Accept negotiation and pagination.
 * Imports nothing from `src/appview` or `src/hold`.
 */
export * from './errors.ts'
export * from './digest.ts'
export * from './media-types.ts'
export * from './reference.ts'
export * from './manifest.ts'
export * from './accept.ts'
export * from './pagination.ts'
