// A bounded, expiring cache that lives as long as the isolate: least recently
// used entries go first, and no entry outlives its time to live.

export class IsolateCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
  ) {}

  get(key: string, now = Date.now()): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= now) return undefined;
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V, ttlMs = this.ttlMs, now = Date.now()): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: now + ttlMs });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  /** The keys of entries still alive. */
  keys(now = Date.now()): string[] {
    return [...this.entries].filter(([, entry]) => entry.expiresAt > now).map(([key]) => key);
  }
}

/**
 * Values served from memory and re-read in the background once they are
 * older than `refreshMs`, so only the first read of a key waits on the store.
 * A value nobody asked for within `maxAgeMs` is dropped.
 */
export class RefreshingCache<V> {
  private readonly entries: IsolateCache<{ value: V; loadedAt: number }>;
  private readonly refreshing = new Set<string>();

  constructor(
    maxEntries: number,
    private readonly refreshMs: number,
    maxAgeMs: number,
  ) {
    this.entries = new IsolateCache(maxEntries, maxAgeMs);
  }

  /** The cached value (refreshed through `defer` when due), or the loaded one on a miss. */
  async get(key: string, load: () => Promise<V>, defer: (work: Promise<unknown>) => void): Promise<V> {
    const now = Date.now();
    const entry = this.entries.get(key, now);
    if (!entry) return this.store(key, await load());
    if (now - entry.loadedAt >= this.refreshMs && !this.refreshing.has(key)) {
      this.refreshing.add(key);
      defer(
        load()
          .then((value) => this.store(key, value))
          .catch((error: unknown) => console.warn(`sluice: refreshing ${key} failed: ${String(error)}`))
          .finally(() => this.refreshing.delete(key)),
      );
    }
    return entry.value;
  }

  private store(key: string, value: V): V {
    this.entries.set(key, { value, loadedAt: Date.now() });
    return value;
  }

  forget(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
