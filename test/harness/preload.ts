import { afterAll } from 'bun:test'
import { stopAll } from './procs.ts'

// One global teardown: every process a harness started is stopped by PID when the run ends.
// Stopping Ceph (the OSD takes ~5 s), the PDS and dockerd together outlasts bun's 5 s default hook timeout.
afterAll(async () => {
  await stopAll()
}, 120_000)
