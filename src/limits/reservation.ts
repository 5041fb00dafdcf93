// What one request reserves against its caller's limits: an amount on each
// of the key's, user's and team's daily, monthly and budget counters, a
// request on each requests-per-minute window, and tokens on each
// tokens-per-minute window. The same amounts are settled to the real usage
// afterwards, whichever way the request was admitted.
import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis/cloudflare";
import type { Principal } from "../auth/principal.ts";
import type { Config } from "../config/index.ts";
import { IsolateCache } from "../isolate-cache.ts";
import { costOf, type Price } from "../usage/prices.ts";
import { type Counter, countersOf, type Subject, subjectsOf, toNano } from "./plan.ts";
import type { Corrections } from "./settlement.ts";
import { type Windows, windowsAt } from "./windows.ts";

export interface Estimate {
  inputTokens: number;
  outputTokens: number;
  /** Dollars to reserve, where the request is priced by something other than tokens (audio, images). */
  usd?: number;
}

export interface Actual {
  tokens: number;
  usd: number;
  /**
   * Tokens for the per-minute windows, where they differ from the counters':
   * a realtime session's counters are charged as it runs, its per-minute
   * windows all at its close.
   */
  rateTokens?: number;
}

/** A per-minute window of one subject: requests or tokens. */
export interface RateWindow {
  /** `rpm:key:<id>`: names the window in isolate state. */
  id: string;
  subject: Subject;
  limiter: Ratelimit;
  /** The identifier the limiter counts under. */
  identifier: string;
  limit: number;
  /** What this request takes from it: 1 request, or its reserved tokens. */
  amount: number;
}

export interface Reservation {
  subjects: Subject[];
  counters: Counter[];
  /** Per counter: tokens, or nano-dollars. */
  amounts: number[];
  rpm: RateWindow[];
  tpm: RateWindow[];
  windows: Windows;
  now: number;
}

const limitersByRedis = new WeakMap<Redis, IsolateCache<Ratelimit>>();

export function limiterFor(redis: Redis, kind: "rpm" | "tpm", limit: number): Ratelimit {
  let limiters = limitersByRedis.get(redis);
  if (!limiters) {
    limiters = new IsolateCache<Ratelimit>(1000, Number.POSITIVE_INFINITY);
    limitersByRedis.set(redis, limiters);
  }
  const cacheKey = `${kind}:${limit}`;
  let found = limiters.get(cacheKey);
  if (!found) {
    found = new Ratelimit({
      redis,
      limiter: Ratelimit.slidingWindow(limit, "60 s"),
      prefix: `sluice:${kind}`,
      analytics: false,
      // Exact counts across isolates: no local memory of who was blocked, and no silent allow on timeout.
      ephemeralCache: false,
      timeout: 0,
    });
    limiters.set(cacheKey, found);
  }
  return found;
}

/** The request's reservation; undefined for a caller no limit applies to (the admin key). */
export function reserve(input: {
  config: Config;
  redis: Redis;
  principal: Principal;
  estimate: Estimate;
  price: Price | undefined;
  /** `requests`: the request windows alone; `spend`: the quota and budget counters alone (usage charged while a session runs). */
  only?: "requests" | "spend";
}): Reservation | undefined {
  const { principal, estimate, redis } = input;
  const subjects = subjectsOf(principal);
  if (subjects.length === 0) return undefined;
  const now = Date.now();
  const windows = windowsAt(now, input.config.limits.timeZone);
  const requestsOnly = input.only === "requests";
  const counters = requestsOnly ? [] : countersOf(principal, subjects, windows, now);
  const tokens = estimate.inputTokens + estimate.outputTokens;
  const nano = toNano(
    estimate.usd ??
      costOf(input.price, { promptTokens: estimate.inputTokens, completionTokens: estimate.outputTokens, cachedTokens: 0 }),
  );
  const rpm: RateWindow[] = [];
  const tpm: RateWindow[] = [];
  for (const subject of subjects) {
    const identifier = `${subject.kind}:${subject.id}`;
    const { requestsPerMinute, tokensPerMinute } = subject.limits;
    if (input.only === "spend") continue;
    if (requestsPerMinute !== null) {
      const limiter = limiterFor(redis, "rpm", requestsPerMinute);
      rpm.push({
        id: `rpm:${requestsPerMinute}:${identifier}`,
        subject,
        limiter,
        identifier,
        limit: requestsPerMinute,
        amount: 1,
      });
    }
    if (tokensPerMinute !== null && !requestsOnly) {
      const limiter = limiterFor(redis, "tpm", tokensPerMinute);
      // Never more than the whole window, or a large request could not pass even alone.
      const amount = Math.min(tokens, tokensPerMinute);
      tpm.push({ id: `tpm:${tokensPerMinute}:${identifier}`, subject, limiter, identifier, limit: tokensPerMinute, amount });
    }
  }
  return {
    subjects,
    counters,
    amounts: counters.map((c) => (c.measure === "tokens" ? tokens : nano)),
    rpm,
    tpm,
    windows,
    now,
  };
}

/** Settling a reservation to what the request used: the difference, per counter and tokens window. */
export function correctionsFor(reservation: Reservation, actual: Actual): Corrections {
  const usedNano = toNano(actual.usd);
  return {
    counters: reservation.counters.map((c, j) => [
      c.key,
      (c.measure === "tokens" ? actual.tokens : usedNano) - (reservation.amounts[j] ?? 0),
    ]),
    rates: reservation.tpm.map((w) => ({
      id: w.id,
      limiter: w.limiter,
      identifier: w.identifier,
      amount: (actual.rateTokens ?? actual.tokens) - w.amount,
    })),
  };
}
