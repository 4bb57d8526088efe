/**
 * A bounded LRU map with per-entry expiry and an optional weight budget (bytes), for caches that must never
 * grow without limit under load or abuse.
 */
export class Lru<K, V> {
  private readonly map = new Map<K, { value: V; until: number; weight: number }>()
  private total = 0

  constructor(
    private readonly opts: { maxEntries: number; ttlMs: number; maxWeight?: number; weigh?: (v: V) => number },
  ) {}

  get(key: K, now = Date.now()): V | undefined {
    const hit = this.map.get(key)
    if (!hit) return undefined
    if (hit.until <= now) {
      this.delete(key)
      return undefined
    }
    // Re-insert to mark as most recently used.
    this.map.delete(key)
    this.map.set(key, hit)
    return hit.value
  }

  set(key: K, value: V, ttlMs = this.opts.ttlMs, now = Date.now()): void {
    this.delete(key)
    const weight = this.opts.weigh?.(value) ?? 0
    if (this.opts.maxWeight !== undefined && weight > this.opts.maxWeight) return
    this.map.set(key, { value, until: now + ttlMs, weight })
    this.total += weight
    while (this.map.size > this.opts.maxEntries || (this.opts.maxWeight !== undefined && this.total > this.opts.maxWeight)) {
      const oldest = this.map.keys().next().value as K
      this.delete(oldest)
    }
  }

  delete(key: K): void {
    const hit = this.map.get(key)
    if (!hit) return
    this.total -= hit.weight
    this.map.delete(key)
  }

  /** Drops every entry whose key matches, e.g. all tags of one repository after a write. */
  deleteWhere(pred: (key: K) => boolean): void {
    for (const k of [...this.map.keys()]) if (pred(k)) this.delete(k)
  }

  get size(): number {
    return this.map.size
  }
}
