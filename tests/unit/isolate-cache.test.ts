import { describe, expect, it, vi } from "vitest";
import { IsolateCache, RefreshingCache } from "../../src/isolate-cache.ts";

describe("IsolateCache", () => {
  it("serves an entry until it expires, then only as stale, within the stale window", () => {
    const cache = new IsolateCache<string>(10, 1_000);
    cache.set("k", "v", 1_000, 0);
    expect(cache.get("k", 999)).toBe("v");
    expect(cache.get("k", 1_000)).toBeUndefined();
    // Still there for a caller whose store is down, for as long as it allows.
    expect(cache.stale("k", 5_000, 5_999)).toBe("v");
    expect(cache.stale("k", 5_000, 6_000)).toBeUndefined();
    expect(cache.stale("missing", 5_000, 0)).toBeUndefined();
  });

  it("evicts the least recently used entry, expired or not, beyond its size", () => {
    const cache = new IsolateCache<number>(2, 1_000);
    cache.set("a", 1, 1_000, 0);
    cache.set("b", 2, 1_000, 0);
    expect(cache.get("a", 10)).toBe(1);
    cache.set("c", 3, 1_000, 20);
    expect(cache.get("b", 30)).toBeUndefined();
    expect(cache.stale("b", 60_000, 30)).toBeUndefined();
    expect(cache.get("a", 30)).toBe(1);
    expect(cache.get("c", 30)).toBe(3);
  });
});

describe("RefreshingCache", () => {
  it("keeps serving its value when a refresh fails, and waits a full interval before the next attempt", async () => {
    vi.useFakeTimers({ now: 0 });
    try {
      const cache = new RefreshingCache<string>(10, 1_000, 60_000);
      const deferred: Promise<unknown>[] = [];
      const defer = (work: Promise<unknown>) => deferred.push(work);
      let loads = 0;
      let down = false;
      const load = async () => {
        loads++;
        if (down) throw new Error("connect ECONNREFUSED");
        return `v${loads}`;
      };
      const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
      expect(await cache.get("k", load, defer)).toBe("v1");
      down = true;
      vi.setSystemTime(1_500);
      expect(await cache.get("k", load, defer)).toBe("v1");
      await Promise.all(deferred);
      expect(loads).toBe(2);
      // Inside the interval after the failure: no attempt, the old value.
      vi.setSystemTime(2_000);
      expect(await cache.get("k", load, defer)).toBe("v1");
      expect(loads).toBe(2);
      down = false;
      vi.setSystemTime(2_600);
      expect(await cache.get("k", load, defer)).toBe("v1");
      await Promise.all(deferred);
      expect(await cache.get("k", load, defer)).toBe("v3");
      expect(warn).toHaveBeenCalledTimes(1);
      warn.mockRestore();
    } finally {
      vi.useRealTimers();
    }
  });
});
