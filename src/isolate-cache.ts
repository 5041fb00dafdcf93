// A bounded, expiring cache that lives as long as the isolate: least recently
// used entries go first, and no entry is served as fresh past its time to
// live (an expired one may be asked for as stale, when its store is down).

import { reason } from "./log.ts";

export class IsolateCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
  ) {}

  get(key: string, now = Date.now()): V | undefined {
    const entry = this.entries.get(key);
    // An expired entry stays (until evicted or replaced) for `stale`, but is not served as fresh.
    if (!entry || entry.expiresAt <= now) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /** An entry expired no more than `maxStaleMs` ago: what to serve when the store it came from cannot be reached. */
  stale(key: string, maxStaleMs: number, now = Date.now()): V | undefined {
    const entry = this.entries.get(key);
    return entry && entry.expiresAt + maxStaleMs > now ? entry.value : undefined;
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

  /** Entries held, expired ones included: never more than its bound. */
  get size(): number {
    return this.entries.size;
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
 * A value nobody asked for within `maxAgeMs` is dropped. A refresh that
 * fails keeps the value and waits a full interval before trying again, so a
 * store outage neither empties the cache nor sends every request to the store.
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
          .catch((error: unknown) => {
            // The store is away: the value is served as it is and the next attempt waits a full interval.
            this.store(key, entry.value);
            console.warn(`sluice: refreshing ${key} failed: ${reason(error)}`);
          })
          .finally(() => this.refreshing.delete(key)),
      );
    }
    return entry.value;
  }

  /** Holds `value` as freshly loaded: what a caller read itself, out of turn, because the held one fell short. */
  put(key: string, value: V): V {
    return this.store(key, value);
  }

  private store(key: string, value: V): V {
    this.entries.set(key, { value, loadedAt: Date.now() });
    return value;
  }

  /** Whether a value is held for `key`, due for a refresh or not: `get` would answer without waiting on `load`. */
  has(key: string): boolean {
    return this.entries.get(key, Date.now()) !== undefined;
  }

  forget(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
