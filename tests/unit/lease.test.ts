// How much a busy caller's isolate leases: about its rate over the lease's
// life, never more than an eighth of what a limit has left.
import { describe, expect, it } from "vitest";
import { CallerLimits } from "../../src/limits/isolate-state.ts";
import type { Reservation } from "../../src/limits/reservation.ts";

const reservation = (tokens: number) =>
  ({
    subjects: [],
    counters: [],
    amounts: [],
    rpm: [{ id: "rpm:key:k", amount: 1 }],
    tpm: [{ id: "tpm:key:k", amount: tokens }],
  }) as unknown as Reservation;

/** A caller seen at `perSecond` requests a second, with `tpmLeft` tokens left in its minute. */
function callerAt(perSecond: number, tpmLeft: number): CallerLimits {
  const caller = new CallerLimits();
  for (let i = 0; i < perSecond; i++) caller.noteArrival(1_000 + i / perSecond);
  caller.noteArrival(2_000);
  caller.view = {
    at: 2_000,
    free: new Map(),
    rates: new Map([
      ["rpm:key:k", { limit: 100_000, remaining: 99_000, reset: 0 }],
      ["tpm:key:k", { limit: 10_000_000, remaining: tpmLeft, reset: 0 }],
    ]),
  };
  return caller;
}

describe("a lease's size", () => {
  it("is the caller's rate over the lease's life, half as much again, with room to spare", () => {
    // 100 in the last second and this one: 101 a second, 152 for a lease of one second.
    expect(callerAt(100, 10_000_000).leaseUnitsWanted(reservation(4_000), 1_000, 2_000)).toBe(152);
  });

  it("counts a caller first seen late in a second by what it sends in this one", () => {
    const caller = callerAt(0, 10_000_000);
    for (let i = 1; i < 60; i++) caller.noteArrival(2_000 + i * 3);
    // 60 requests in the first 0.18 s of this second.
    expect(caller.leaseUnitsWanted(reservation(4_000), 1_000, 2_180)).toBe(90);
  });

  it("is cut to an eighth of what a limit has left for a fast caller, not refused", () => {
    // 300 a second wants 450; 8.4M tokens left at 4,000 a request hold 2,100 requests, an eighth of that 262.
    expect(callerAt(300, 8_400_000).leaseUnitsWanted(reservation(4_000), 1_000, 2_000)).toBe(261);
  });

  it("is none when a limit is nearly spent, or the caller is not busy", () => {
    expect(callerAt(300, 40_000).leaseUnitsWanted(reservation(4_000), 1_000, 2_000)).toBe(0);
    expect(callerAt(0, 10_000_000).leaseUnitsWanted(reservation(4_000), 1_000, 2_000)).toBe(0);
  });
});
