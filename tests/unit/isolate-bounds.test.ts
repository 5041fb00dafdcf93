// Every per-isolate cache and map holds no more than its bound, however many
// distinct keys arrive: each is filled past it here.
import type { Redis } from "@upstash/redis/cloudflare";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { EncryptionKey } from "../../src/config/index.ts";
import { kekCache, seal } from "../../src/credentials/envelope.ts";
import { IsolateBatch } from "../../src/isolate-batch.ts";
import { IsolateCache } from "../../src/isolate-cache.ts";
import { MAX_OWED_COUNTERS, SettlementBuffer } from "../../src/limits/settlement.ts";
import { formatters, recentWindows, windowsAt } from "../../src/limits/windows.ts";
import { cachedToken, tokens } from "../../src/providers/token-cache.ts";
import { RoutingHealth } from "../../src/routing/health.ts";
import { ModelLatency } from "../../src/routing/rules/latency.ts";

afterEach(() => vi.restoreAllMocks());

describe("per-isolate caches stay within their bounds", () => {
  it("IsolateCache keeps its newest entries and never more than its size", () => {
    const cache = new IsolateCache<number>(100, 60_000);
    for (let i = 0; i < 1_000; i++) cache.set(`k${i}`, i, undefined, 0);
    expect(cache.size).toBe(100);
    expect(cache.get("k999", 1)).toBe(999);
    expect(cache.get("k900", 1)).toBe(900);
    expect(cache.get("k899", 1)).toBeUndefined();
  });

  it("the daily and monthly windows, and their formatters, by time zone", () => {
    const zones = Intl.supportedValuesOf("timeZone").slice(0, 150);
    for (const zone of zones) windowsAt(Date.UTC(2026, 11, 4, 12), zone);
    expect(formatters.size).toBe(64);
    expect(recentWindows.size).toBe(64);
    // Still right for a zone that was evicted and comes back.
    expect(windowsAt(Date.UTC(2026, 11, 4, 12), "UTC").dayKey).toBe("20261204");
  });

  it("providers' access tokens, by credential, each until it expires", async () => {
    const expiresAt = Date.now() + 3_600_000;
    for (let i = 0; i < 1_500; i++) {
      await cachedToken(`credential-${i}`, async () => ({ value: `token-${i}`, expiresAt }));
    }
    expect(tokens.size).toBe(1_000);
    // The newest is served from memory, without an exchange.
    const exchange = vi.fn(async () => ({ value: "fresh", expiresAt }));
    expect(await cachedToken("credential-1499", exchange)).toBe("token-1499");
    expect(exchange).not.toHaveBeenCalled();
  });

  it("imported key-encryption keys, by version", async () => {
    const secret = btoa(String.fromCharCode(...new Uint8Array(32).fill(7)));
    for (let version = 1; version <= 40; version++) {
      const key: EncryptionKey = { version, secret } as EncryptionKey;
      await seal("sk-provider", "row", { current: key, all: [key] });
    }
    expect(kekCache.size).toBe(16);
  });

  it("routing cooldowns, by deployment", () => {
    const redis = { eval: () => Promise.resolve(1) } as unknown as Redis;
    const health = new RoutingHealth(redis, { failures: 1, cooldownMs: 60_000, refreshMs: 1_000 });
    for (let i = 0; i < 1_500; i++) health.recordFailure(`deployment-${i}`, { defer: () => undefined });
    expect((health as unknown as { cooling: IsolateCache<number> }).cooling.size).toBe(1_000);
    expect(health.isCooling("deployment-1499")).toBe(true);
    expect(health.isCooling("deployment-0")).toBe(false);
  });

  it("models' latency, by model", () => {
    const latency = new ModelLatency();
    for (let i = 0; i < 1_500; i++) latency.recordSuccess(`model-${i}`, 10);
    expect((latency as unknown as { seen: IsolateCache<unknown> }).seen.size).toBe(1_000);
  });

  it("corrections owed to Redis while it is away, by counter", () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const buffer = new SettlementBuffer({} as Redis);
    // The private side a Redis outage reaches, called directly: no outage to wait through.
    const owed = buffer as unknown as { owe(counters: [string, number][]): void; owed: Map<string, number> };
    const counters: [string, number][] = Array.from({ length: MAX_OWED_COUNTERS + 500 }, (_, i) => [`counter-${i}`, 1]);
    owed.owe(counters);
    expect(buffer.owedCounters).toBe(MAX_OWED_COUNTERS);
    // A counter already owed still sums.
    owed.owe([["counter-0", 2]]);
    expect(owed.owed.get("counter-0")).toBe(3);
  });

  it("a batch gathering items, however many arrive while it gathers", async () => {
    const sizes: number[] = [];
    const batch = new IsolateBatch<number>(
      async (items) => {
        sizes.push(items.length);
      },
      { gatherMs: 5, waitForFlush: false, maxItems: 100 },
    );
    await Promise.all(Array.from({ length: 450 }, (_, i) => batch.add(i)));
    expect(Math.max(...sizes)).toBe(100);
    expect(sizes.reduce((sum, n) => sum + n, 0)).toBe(450);
  });
});
