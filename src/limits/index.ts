// Admission and settlement: before the upstream call, every limit of the
// caller's key, user and team is checked and the request's worst case is
// reserved, in one Redis round trip; after it, the reservation is settled to
// the exact usage.

import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis/cloudflare";
import { deniedError, denyMarkerKey } from "../auth/deny-list.ts";
import type { Principal } from "../auth/principal.ts";
import type { Config } from "../config/index.ts";
import { GatewayError } from "../http/errors.ts";
import { IsolateCache } from "../isolate-cache.ts";
import type { Services } from "../services.ts";
import { costOf, type Price } from "../usage/prices.ts";
import { type Counter, countersOf, SEED_TTL_SECONDS, type Subject, seedKey, subjectsOf, toNano } from "./plan.ts";
import { rebuildCounters } from "./rebuild.ts";
import { prepareScripts, runScript } from "./redis-scripts.ts";
import { GATE_SCRIPT, SEED_SCRIPT, SETTLE_SCRIPT } from "./scripts.ts";
import { windowsAt } from "./windows.ts";

export interface Estimate {
  inputTokens: number;
  outputTokens: number;
}

export interface Actual {
  tokens: number;
  usd: number;
}

export interface Admission {
  /** Response headers: `x-ratelimit-*`, and the Redis-failure policy when it applied. */
  headers: Record<string, string>;
  /** Settles the reservation to what the request really used. Never throws. */
  settle(actual: Actual): Promise<void>;
}

const NOTHING_TO_SETTLE: Admission = { headers: {}, settle: async () => undefined };

type RateResult = Awaited<ReturnType<Ratelimit["limit"]>>;

const limitersByRedis = new WeakMap<Redis, IsolateCache<Ratelimit>>();

function limiter(redis: Redis, kind: "rpm" | "tpm", limit: number): Ratelimit {
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

const rateId = (subject: Subject) => `${subject.kind}:${subject.id}`;
const secondsUntil = (ms: number) => Math.max(1, Math.ceil((ms - Date.now()) / 1000));
const PERIOD_WORDS = { day: "daily", month: "monthly", budget: "budget" } as const;

function counterRefusal(counter: Counter): GatewayError {
  const who = `this ${counter.subject.kind}`;
  const limit =
    counter.measure === "usd"
      ? `$${(counter.limit / 1e9).toFixed(4).replace(/0+$/, "").replace(/\.$/, "")}`
      : `${counter.limit} tokens`;
  const headers: Record<string, string> =
    counter.resetMs === null ? {} : { "retry-after": String(secondsUntil(counter.resetMs)) };
  const when = counter.resetMs === null ? "" : ` It resets at ${new Date(counter.resetMs).toISOString()}.`;
  const message =
    counter.period === "budget"
      ? `The budget of ${limit} for ${who} is spent.${when}`
      : `The ${PERIOD_WORDS[counter.period]} ${counter.measure === "usd" ? "budget" : "token quota"} of ${limit} for ${who} is used up.${when}`;
  return new GatewayError(429, "rate_limit", message, {
    code: counter.measure === "usd" ? "budget_exceeded" : "insufficient_quota",
    headers,
  });
}

function rateRefusal(kind: "requests" | "tokens", subject: Subject, result: RateResult): GatewayError {
  return new GatewayError(429, "rate_limit", `Rate limit reached: ${result.limit} ${kind} per minute for this ${subject.kind}.`, {
    code: "rate_limit_exceeded",
    headers: { "retry-after": String(secondsUntil(result.reset)) },
  });
}

/** OpenAI's `x-ratelimit-*` headers, from the tightest per-minute limit of each kind. */
function rateHeaders(rpm: RateResult[], tpm: RateResult[]): Record<string, string> {
  const headers: Record<string, string> = {};
  const tightest = (results: RateResult[]) =>
    results.reduce<RateResult | undefined>((a, b) => (!a || b.remaining < a.remaining ? b : a), undefined);
  for (const [suffix, result] of [
    ["requests", tightest(rpm)],
    ["tokens", tightest(tpm)],
  ] as const) {
    if (!result) continue;
    headers[`x-ratelimit-limit-${suffix}`] = String(result.limit);
    headers[`x-ratelimit-remaining-${suffix}`] = String(Math.max(0, result.remaining));
    headers[`x-ratelimit-reset-${suffix}`] = `${Math.max(0, Math.ceil((result.reset - Date.now()) / 1000))}s`;
  }
  return headers;
}

interface AdmitInput {
  config: Config;
  services: Services;
  principal: Principal;
  estimate: Estimate;
  price: Price | undefined;
  /** Runs work after the response (ctx.waitUntil). */
  defer: (work: Promise<unknown>) => void;
}

type GateReply = number[];

/** Checks and reserves everything, or throws the refusal in the shape routes render. */
export async function admit(input: AdmitInput): Promise<Admission> {
  const { config, services, principal, estimate } = input;
  const subjects = subjectsOf(principal);
  if (subjects.length === 0) return NOTHING_TO_SETTLE;
  const redis = services.redis;
  const now = Date.now();
  const windows = windowsAt(now, config.limits.timeZone);
  const counters = countersOf(principal, subjects, windows, now);
  const reservedTokens = estimate.inputTokens + estimate.outputTokens;
  const reservedNano = toNano(
    costOf(input.price, { promptTokens: estimate.inputTokens, completionTokens: estimate.outputTokens, cachedTokens: 0 }),
  );
  const amounts = counters.map((c) => (c.measure === "tokens" ? reservedTokens : reservedNano));
  const markers = subjects.map((s) => denyMarkerKey(s.kind, s.id));
  const seeds = subjects.map(seedKey);
  const gateKeys = [...markers, ...seeds, ...counters.map((c) => c.key)];
  const gateArgs = [
    markers.length,
    seeds.length,
    SEED_TTL_SECONDS,
    ...counters.flatMap((c, j) => [c.limit, amounts[j] ?? 0, c.ttlSeconds]),
  ];
  const rpmSubjects = subjects.filter((s) => s.limits.requestsPerMinute !== null);
  const tpmSubjects = subjects.filter((s) => s.limits.tokensPerMinute !== null);
  const tpmReserved = tpmSubjects.map((s) => Math.min(reservedTokens, s.limits.tokensPerMinute ?? 0));

  await prepareScripts([GATE_SCRIPT, SETTLE_SCRIPT, SEED_SCRIPT]);
  let gate: GateReply;
  let rpm: RateResult[];
  let tpm: RateResult[];
  try {
    // Issued together, so the client sends them as one pipeline: one round trip.
    [gate, rpm, tpm] = await Promise.all([
      runScript<GateReply>(redis, GATE_SCRIPT, gateKeys, gateArgs),
      Promise.all(rpmSubjects.map((s) => limiter(redis, "rpm", s.limits.requestsPerMinute ?? 0).limit(rateId(s)))),
      Promise.all(
        tpmSubjects.map((s, i) =>
          limiter(redis, "tpm", s.limits.tokensPerMinute ?? 0).limit(rateId(s), { rate: tpmReserved[i] ?? 0 }),
        ),
      ),
    ]);
  } catch (error) {
    return redisUnavailable(config, error);
  }

  const refundTpm = () =>
    Promise.all(
      tpmSubjects.map((s, i) =>
        tpm[i]?.success
          ? limiter(redis, "tpm", s.limits.tokensPerMinute ?? 0).limit(rateId(s), { rate: -(tpmReserved[i] ?? 0) })
          : undefined,
      ),
    ).catch(() => undefined);

  if (gate[0] === 2) {
    // Counters missing for some subject: Redis lost them, or the subject is new. Rebuild from the ledger, then reserve.
    const missing = gate
      .slice(1)
      .map((i) => subjects[i - 1])
      .filter((s): s is Subject => s !== undefined);
    await rebuildCounters({ services, principal, subjects: missing, counters, windows, now });
    gate = await runScript<GateReply>(redis, GATE_SCRIPT, gateKeys, gateArgs);
  }

  const release = (reserved: boolean) =>
    input.defer(
      Promise.all([
        reserved
          ? runScript(
              redis,
              SETTLE_SCRIPT,
              counters.map((c) => c.key),
              amounts.map((a) => -a),
            )
          : undefined,
        refundTpm(),
      ]).catch(() => undefined),
    );

  if (gate[0] === 3) {
    release(false);
    const subject = subjects[(gate[1] ?? 1) - 1];
    throw deniedError(subject?.kind ?? "key");
  }
  if (gate[0] === 1) {
    release(false);
    throw counterRefusal(counters[(gate[1] ?? 1) - 1] as Counter);
  }
  const headers = rateHeaders(rpm, tpm);
  const rpmDenied = rpm.findIndex((r) => !r.success);
  const tpmDenied = tpm.findIndex((r) => !r.success);
  if (rpmDenied >= 0 || tpmDenied >= 0) {
    release(true);
    const error =
      rpmDenied >= 0
        ? rateRefusal("requests", rpmSubjects[rpmDenied] as Subject, rpm[rpmDenied] as RateResult)
        : rateRefusal("tokens", tpmSubjects[tpmDenied] as Subject, tpm[tpmDenied] as RateResult);
    Object.assign(error.headers, headers);
    throw error;
  }

  return {
    headers,
    settle: async (actual) => {
      const deltas = counters.map((c, j) => (c.measure === "tokens" ? actual.tokens : toNano(actual.usd)) - (amounts[j] ?? 0));
      await Promise.all([
        runScript(
          redis,
          SETTLE_SCRIPT,
          counters.map((c) => c.key),
          deltas,
        ),
        ...tpmSubjects.map((s, i) => {
          const change = actual.tokens - (tpmReserved[i] ?? 0);
          return change === 0
            ? undefined
            : limiter(redis, "tpm", s.limits.tokensPerMinute ?? 0).limit(rateId(s), { rate: change });
        }),
      ]).catch((error: unknown) => console.error(`sluice: settling limits failed: ${String(error)}`));
    },
  };
}

/** Redis did not answer: the configured policy decides, and the response says which applied. */
function redisUnavailable(config: Config, error: unknown): Admission {
  const policy = config.limits.onRedisFailure;
  const state = `redis-unavailable; rate-limits=${policy.rateLimits}; quotas=${policy.quotas}`;
  console.warn(`sluice: limits: Redis unavailable (${error instanceof Error ? error.message : String(error)}); ${state}`);
  if (policy.quotas === "closed" || policy.rateLimits === "closed") {
    const what = policy.quotas === "closed" ? "Quota and budget checks" : "Rate limit checks";
    throw new GatewayError(503, "unavailable", `${what} are unavailable, so the request is refused by policy.`, {
      code: "limits_unavailable",
      headers: { "x-sluice-limits": state, "retry-after": "1" },
    });
  }
  return { headers: { "x-sluice-limits": state }, settle: async () => undefined };
}
