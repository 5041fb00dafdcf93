// Counters every isolate adds to, in one Redis hash: a request's additions
// go in one pipeline, in its deferred work, never before its response. The
// hash only grows, so counters never go backwards between scrapes.
import type { Redis } from "@upstash/redis/cloudflare";

export const METRICS_KEY = "sluice:metrics";

export type Increments = [series: string, amount: number][];

export async function addToMetrics(redis: Redis, increments: Increments): Promise<void> {
  if (increments.length === 0) return;
  const pipeline = redis.pipeline();
  // HINCRBYFLOAT throughout: a histogram's sum may be whole one time and not the next, and HINCRBY refuses a field holding a fraction.
  for (const [series, amount] of increments) pipeline.hincrbyfloat(METRICS_KEY, series, amount);
  await pipeline.exec();
}

/** Every series and its value, as the hash holds them. */
export async function readMetrics(redis: Redis): Promise<Map<string, number>> {
  const hash = (await redis.hgetall<Record<string, unknown>>(METRICS_KEY)) ?? {};
  return new Map(Object.entries(hash).map(([series, value]) => [series, Number(value)]));
}
