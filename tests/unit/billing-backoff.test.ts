// The billing webhook's retry schedule: from its base, doubling, held at the
// cap, whatever the attempt count.
import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY_BASE_SECONDS, RETRY_CAP_SECONDS, retryDelaySeconds } from "../../src/usage/webhooks.ts";

const schedule = (base: number, attempts: number) => Array.from({ length: attempts }, (_, i) => retryDelaySeconds(i + 1, base));

describe("the billing retry backoff", () => {
  it("starts at 15 s, doubles, and stays at the cap under two minutes", () => {
    expect(DEFAULT_RETRY_BASE_SECONDS).toBe(15);
    expect(RETRY_CAP_SECONDS).toBeLessThan(120);
    expect(schedule(DEFAULT_RETRY_BASE_SECONDS, 7)).toEqual([15, 30, 60, 110, 110, 110, 110]);
    expect(retryDelaySeconds(1)).toBe(15);
  });

  it("follows the configured base", () => {
    expect(schedule(1, 9)).toEqual([1, 2, 4, 8, 16, 32, 64, 110, 110]);
    expect(schedule(40, 3)).toEqual([40, 80, 110]);
  });

  it("never waits less than the base, nor more than the cap, for any attempt count", () => {
    expect(retryDelaySeconds(0, 15)).toBe(15);
    expect(retryDelaySeconds(-3, 15)).toBe(15);
    // A day of attempts at the cap.
    expect(retryDelaySeconds(800, 15)).toBe(110);
    expect(retryDelaySeconds(Number.MAX_SAFE_INTEGER, 15)).toBe(110);
    // A base above the cap is the wait every time.
    expect(schedule(300, 3)).toEqual([300, 300, 300]);
  });
});
