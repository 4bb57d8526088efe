/**
 * Keeps a streaming process's resident memory near its live size. Bun hands every request-body chunk to JS as a
 * fresh buffer that is freed only when the garbage collector runs; minor collections alone let a long push grow
 * RSS by tens of MB before a major one happens on its own. Data paths call `settle()` after each large unit of
 * work (an upload part). It runs a cheap minor collection, and a full one once RSS has grown `headroom` bytes
 * past what the previous full collection left: RSS then stays within about `headroom` of the live set, and full
 * collections (10-20 ms each) happen once per `headroom` of garbage rather than once per part.
 */
export class MemoryGovernor {
  private next: number
  /** Full collections run so far (for tests and diagnostics). */
  fullCollections = 0

  constructor(
    private readonly headroom: number,
    private readonly rss: () => number = () => process.memoryUsage.rss(),
    private readonly gc: (full: boolean) => void = (full) => Bun.gc(full),
  ) {
    this.next = headroom > 0 ? rss() + headroom : Infinity
  }

  settle(): void {
    if (this.rss() < this.next) {
      this.gc(false)
      return
    }
    this.gc(true)
    this.fullCollections++
    this.next = this.rss() + this.headroom
  }
}
