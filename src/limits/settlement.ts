// Settling reservations to what requests really used, in batches: each
// request adds its corrections (actual minus reserved, per counter and per
// per-minute window), and one Redis round trip applies what the isolate's
// requests added meanwhile, summed per key.
import type { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis/cloudflare";
import { IsolateBatch } from "../isolate-batch.ts";
import { reason } from "../log.ts";
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
/** Counters whose corrections are kept while Redis is away; beyond it a correction is dropped and said so. */
export const MAX_OWED_COUNTERS = 10_000;
const ATTEMPTS = 3;
/** How long an isolate keeps retrying corrections Redis did not take before leaving them to its next settlement. */
const OWED_RETRY_MS = 20_000;
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

/** Applies the corrections in one pipelined round trip, retrying briefly; whether Redis took them. */
async function send(redis: Redis, counters: [string, number][], rates: RateCorrection[], attempts: number): Promise<boolean> {
  await prepareScripts([SETTLE_SCRIPT]);
  for (let attempt = 1; ; attempt++) {
    try {
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
      return true;
    } catch (error) {
      if (attempt >= attempts) {
        console.warn(`sluice: settling ${counters.length} limit counters failed: ${reason(error)}`);
        return false;
      }
      await sleep(25 * 2 ** attempt);
    }
  }
}

export class SettlementBuffer {
  private readonly batch: IsolateBatch<Corrections>;
  /**
   * Counter corrections Redis did not take while it was away, summed per
   * counter (bounded by the counters, not the requests). They are retried in
   * the background and go with the next settlement, so the counters come back
   * to what the ledger says instead of keeping reservations nobody used.
   * Per-minute windows' corrections are not kept: their windows move on.
   */
  private readonly owed = new Map<string, number>();
  private retrying = false;

  constructor(private readonly redis: Redis) {
    // Whoever settles waits until it is settled: the next request's admission reads these counters.
    this.batch = new IsolateBatch((items) => this.apply(items), { gatherMs: GATHER_MS, waitForFlush: true });
  }

  /** Adds corrections; resolves once they are in Redis (or owed, and retried). Deferred work. */
  settle(corrections: Corrections): Promise<void> {
    return this.batch.add(corrections);
  }

  private owe(counters: [string, number][]): void {
    let dropped = 0;
    for (const [key, change] of counters) {
      const was = this.owed.get(key);
      if (was === undefined && this.owed.size >= MAX_OWED_COUNTERS) dropped += 1;
      else this.owed.set(key, (was ?? 0) + change);
    }
    if (dropped > 0) console.error(`sluice: ${dropped} limit counters' corrections dropped: ${MAX_OWED_COUNTERS} already owed`);
  }

  /** Counters owed corrections now. */
  get owedCounters(): number {
    return this.owed.size;
  }

  private takeOwed(): [string, number][] {
    const taken = [...this.owed].filter(([, change]) => change !== 0);
    this.owed.clear();
    return taken;
  }

  private async apply(batch: Corrections[]): Promise<void> {
    const { counters, rates } = summed(batch);
    // What earlier settlements owe goes along, unless the retry loop is carrying it.
    const sending = this.retrying ? counters : summed([{ counters: [...counters, ...this.takeOwed()], rates: [] }]).counters;
    if (sending.length === 0 && rates.length === 0) return;
    if (await send(this.redis, sending, rates, ATTEMPTS)) return;
    this.owe(sending);
    if (this.retrying) return;
    this.retrying = true;
    try {
      await this.retryOwed();
    } finally {
      this.retrying = false;
    }
  }

  /** One loop per isolate retries what is owed, with backoff, while its request's deferred work may run. */
  private async retryOwed(): Promise<void> {
    const until = Date.now() + OWED_RETRY_MS;
    for (let wait = 250; this.owed.size > 0 && Date.now() + wait < until; wait = Math.min(wait * 2, 2_000)) {
      await sleep(wait);
      const counters = this.takeOwed();
      if (!(await send(this.redis, counters, [], 1))) this.owe(counters);
    }
    if (this.owed.size > 0) {
      console.error(`sluice: ${this.owed.size} limit counters still owe corrections; they go with the next settlement`);
    }
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
