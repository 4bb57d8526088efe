import { afterAll } from 'bun:test'
import { stopAll } from './procs.ts'

// One global teardown: every process a harness started is stopped by PID when the run ends.
afterAll(async () => {
  await stopAll()
})
