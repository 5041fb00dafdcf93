import type { Redis } from "@upstash/redis/cloudflare";
import { afterEach, describe, expect, it, vi } from "vitest";
import { SettlementBuffer } from "../../src/limits/settlement.ts";

/** A Redis that runs the settle script as increments, and can be switched off. */
function fakeRedis() {
  const counters = new Map<string, number>();
  const state = { down: false, calls: 0 };
  const run = async (_script: string, keys: string[], args: string[]) => {
    state.calls++;
    if (state.down) throw new Error("fetch failed");
    for (const [i, key] of keys.entries()) counters.set(key, (counters.get(key) ?? 0) + Number(args[i]));
    return 1;
  };
  const redis = { evalsha: run, eval: run } as unknown as Redis;
  return { redis, counters, state };
}

describe("SettlementBuffer", () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it("keeps what Redis did not take, summed per counter, and applies it once Redis is back", async () => {
    vi.useFakeTimers();
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const { redis, counters, state } = fakeRedis();
    const buffer = new SettlementBuffer(redis);
    state.down = true;
    // Two requests each gave back part of their reservation while Redis was away.
    const first = buffer.settle({ counters: [["tok:a", -100]], rates: [] });
    await vi.advanceTimersByTimeAsync(10);
    const second = buffer.settle({
      counters: [
        ["tok:a", -50],
        ["usd:a", -7],
      ],
      rates: [],
    });
    await vi.advanceTimersByTimeAsync(2_000);
    expect(counters.size).toBe(0);
    state.down = false;
    await vi.advanceTimersByTimeAsync(5_000);
    await Promise.all([first, second]);
    expect(Object.fromEntries(counters)).toEqual({ "tok:a": -150, "usd:a": -7 });
  });

  it("gives up retrying after a while and sends what is owed with the next settlement", async () => {
    vi.useFakeTimers();
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const { redis, counters, state } = fakeRedis();
    const buffer = new SettlementBuffer(redis);
    state.down = true;
    const owed = buffer.settle({ counters: [["tok:a", -100]], rates: [] });
    await vi.advanceTimersByTimeAsync(30_000);
    await owed;
    expect(error).toHaveBeenCalledWith(expect.stringContaining("1 limit counters still owe corrections"));
    const callsWhileDown = state.calls;
    state.down = false;
    await vi.advanceTimersByTimeAsync(60_000);
    // Nothing retries in the background once the loop has ended.
    expect(state.calls).toBe(callsWhileDown);
    const next = buffer.settle({ counters: [["tok:a", 20]], rates: [] });
    await vi.advanceTimersByTimeAsync(100);
    await next;
    expect(Object.fromEntries(counters)).toEqual({ "tok:a": -80 });
  });
});
