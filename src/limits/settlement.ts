// Settling reservations to what requests really used, in batches: each
// request adds its corrections (actual minus reserved, per counter and per
// per-minute window), and one Redis round trip applies what the isolate's
// requests added meanwhile, summed per key.
import type { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis/cloudflare";
import { IsolateBatch } from "../isolate-batch.ts";
import { prepareScripts, runScript } from "./redis-scripts.ts";
import { SETTLE_SCRIPT } from "./scripts.ts";

/** A correction to one per-minute window: requests or tokens given back, or tokens used beyond the reservation. */
export interface RateCorrection {
  /** Names the window: the limiter's kind and limit, and the subject. */
  id: string;
  limiter: Ratelimit;
  identifier: string;
  amount: number;
}

export interface Corrections {
  /** Counter key → change, in tokens or nano-dollars. */
  counters: [string, number][];
  rates: RateCorrection[];
}

/** How long the first correction waits for others to join its round trip. */
const GATHER_MS = 5;
const ATTEMPTS = 3;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sums corrections per counter and per window: the round trip's size grows with the callers, not the requests. */
function summed(batch: Corrections[]): { counters: [string, number][]; rates: RateCorrection[] } {
  const counters = new Map<string, number>();
  const rates = new Map<string, RateCorrection>();
  for (const corrections of batch) {
    for (const [key, change] of corrections.counters) counters.set(key, (counters.get(key) ?? 0) + change);
    for (const rate of corrections.rates) {
      const entry = rates.get(rate.id);
      if (entry) entry.amount += rate.amount;
      else rates.set(rate.id, { ...rate });
    }
  }
  return {
    counters: [...counters].filter(([, change]) => change !== 0),
    rates: [...rates.values()].filter((rate) => rate.amount !== 0),
  };
}

async function apply(redis: Redis, batch: Corrections[]): Promise<void> {
  const { counters, rates } = summed(batch);
  if (counters.length === 0 && rates.length === 0) return;
  await prepareScripts([SETTLE_SCRIPT]);
  for (let attempt = 1; ; attempt++) {
    try {
      // Issued together: one pipelined round trip.
      await Promise.all([
        counters.length > 0
          ? runScript(
              redis,
              SETTLE_SCRIPT,
              counters.map(([key]) => key),
              counters.map(([, change]) => String(change)),
            )
          : undefined,
        ...rates.map((rate) => rate.limiter.limit(rate.identifier, { rate: rate.amount })),
      ]);
      return;
    } catch (error) {
      if (attempt >= ATTEMPTS) {
        // The counters keep the reservations (the larger figure, as a rule) until the ledger rebuilds them.
        console.error(`sluice: settling limits failed for ${counters.length} counters: ${String(error)}`);
        return;
      }
      await sleep(25 * 2 ** attempt);
    }
  }
}

export class SettlementBuffer {
  private readonly batch: IsolateBatch<Corrections>;

  constructor(redis: Redis) {
    // Whoever settles waits until it is settled: the next request's admission reads these counters.
    this.batch = new IsolateBatch((items) => apply(redis, items), { gatherMs: GATHER_MS, waitForFlush: true });
  }

  /** Adds corrections; resolves once they are in Redis (or given up on, and logged). Deferred work. */
  settle(corrections: Corrections): Promise<void> {
    return this.batch.add(corrections);
  }
}

const buffers = new WeakMap<Redis, SettlementBuffer>();

export function settlementBuffer(redis: Redis): SettlementBuffer {
  let buffer = buffers.get(redis);
  if (!buffer) {
    buffer = new SettlementBuffer(redis);
    buffers.set(redis, buffer);
  }
  return buffer;
}
