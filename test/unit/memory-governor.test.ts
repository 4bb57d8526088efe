import { describe, expect, test } from 'bun:test'
import { MemoryGovernor } from '../../src/util/memory-governor.ts'

/** A fake process: garbage adds to RSS until a full collection returns it; minor collections return nothing. */
function fakeProcess(live: number) {
  let garbage = 0
  const calls: ('minor' | 'full')[] = []
  return {
    calls,
    allocate: (n: number) => (garbage += n),
    rss: () => live + garbage,
    gc: (full: boolean) => {
      calls.push(full ? 'full' : 'minor')
      if (full) garbage = 0
    },
  }
}

const MiB = 2 ** 20

describe('MemoryGovernor', () => {
  test('collects fully once RSS has grown by the headroom, and keeps RSS within about headroom + one step', () => {
    const p = fakeProcess(100 * MiB)
    const g = new MemoryGovernor(32 * MiB, p.rss, p.gc)
    let peak = 0
    for (let part = 0; part < 200; part++) {
      p.allocate(5 * MiB) // one part's worth of request chunks
      peak = Math.max(peak, p.rss())
      g.settle()
    }
    // 1000 MiB of garbage in steps of 5 MiB, collected each time it passes 32 MiB: every 7th part.
    expect(g.fullCollections).toBe(28)
    expect(p.calls.filter((c) => c === 'minor')).toHaveLength(200 - 28)
    expect(peak).toBeLessThanOrEqual(100 * MiB + 32 * MiB + 5 * MiB)
  })

  test('measures the next threshold from what the full collection left, so a grown live set does not cause a collection per part', () => {
    let live = 100 * MiB
    let garbage = 0
    let full = 0
    const g = new MemoryGovernor(
      16 * MiB,
      () => live + garbage,
      (f) => {
        if (!f) return
        full++
        garbage = 0
      },
    )
    live = 200 * MiB // the live set doubled (say, a cache filled): the first settle collects once
    g.settle()
    expect(full).toBe(1)
    for (let i = 0; i < 3; i++) {
      garbage += 5 * MiB
      g.settle()
    }
    expect(full).toBe(1) // 15 MiB of garbage is under the headroom measured from 200 MiB
    garbage += 5 * MiB
    g.settle()
    expect(full).toBe(2)
  })

  test('headroom 0 never forces a full collection', () => {
    const p = fakeProcess(100 * MiB)
    const g = new MemoryGovernor(0, p.rss, p.gc)
    for (let i = 0; i < 50; i++) {
      p.allocate(50 * MiB)
      g.settle()
    }
    expect(p.calls).toEqual(Array(50).fill('minor'))
  })
})
