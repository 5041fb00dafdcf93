// The one Redis round trip that admits a request: the deny markers, every
// daily, monthly and budget counter (reserved atomically by one script) and
// the per-minute windows (@upstash/ratelimit), pipelined together. It can
// also hand the isolate a lease: more of the same reservation, taken now, for
// the isolate to give out itself to the caller's next requests.
import type { Ratelimit } from "@upstash/ratelimit";
import { changeMarkerKey, deniedError, denyMarkerKey } from "../auth/deny-list.ts";
import type { Principal } from "../auth/principal.ts";
import type { Config } from "../config/index.ts";
import { databaseUnreachable } from "../db/client.ts";
import { GatewayError } from "../http/errors.ts";
import { reason } from "../log.ts";
import type { Services } from "../services.ts";
import { type Counter, SEED_TTL_SECONDS, type Subject, seedKey } from "./plan.ts";
import { rebuildCounters } from "./rebuild.ts";
import { prepareScripts, runScript } from "./redis-scripts.ts";
import type { RateWindow, Reservation } from "./reservation.ts";
import { GATE_SCRIPT, SEED_SCRIPT, SETTLE_SCRIPT } from "./scripts.ts";
import { type Corrections, settlementBuffer } from "./settlement.ts";

/** A lease never takes more than this share of what a limited counter has left. */
export const LEASE_SHARE = 8;

type RateResult = Awaited<ReturnType<Ratelimit["limit"]>>;

/** What the caller had left when the gate last answered, as this isolate saw it. */
export interface HeadroomView {
  at: number;
  /** Limited counter key → what is left under its limit. */
  free: Map<string, number>;
  /** Rate window id → its state. */
  rates: Map<string, { limit: number; remaining: number; reset: number }>;
}

/** Reservations handed to the isolate: per counter and per rate window, what is left to give out. */
export interface LeaseGrant {
  counters: Map<string, number>;
  rates: Map<string, { window: RateWindow; left: number }>;
}

export interface GateResult {
  headers: Record<string, string>;
  /** False when Redis could not be reached and the policy let the request through unreserved. */
  reserved: boolean;
  view?: HeadroomView;
  lease?: LeaseGrant;
  /** An admin changed the caller after this isolate loaded it: the request is reserved, its identity to be read again. */
  stale?: boolean;
}

interface GateInput {
  config: Config;
  services: Services;
  principal: Principal;
  reservation: Reservation;
  /** Further requests' worth to take as a lease; 0 for none. */
  leaseUnits: number;
  defer: (work: Promise<unknown>) => void;
}

type GateReply = number[];

const secondsUntil = (ms: number) => Math.max(1, Math.ceil((ms - Date.now()) / 1000));
const PERIOD_WORDS = { day: "daily", month: "monthly", budget: "budget" } as const;

/**
 * Refusals made under a copy of the caller an admin has changed since (a
 * limit raised, say): the copy is to be read again, so the change applies
 * from the caller's next request rather than when the copy expires.
 */
export const refusedStale = new WeakSet<GatewayError>();

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

function rateRefusal(kind: "requests" | "tokens", subject: Subject, result: { limit: number; reset: number }): GatewayError {
  return new GatewayError(429, "rate_limit", `Rate limit reached: ${result.limit} ${kind} per minute for this ${subject.kind}.`, {
    code: "rate_limit_exceeded",
    headers: { "retry-after": String(secondsUntil(result.reset)) },
  });
}

/** OpenAI's `x-ratelimit-*` headers, from the tightest per-minute window of each kind. */
export function rateHeaders(
  rpm: { limit: number; remaining: number; reset: number }[],
  tpm: { limit: number; remaining: number; reset: number }[],
): Record<string, string> {
  const headers: Record<string, string> = {};
  const tightest = (results: typeof rpm) =>
    results.reduce<(typeof rpm)[number] | undefined>((a, b) => (!a || b.remaining < a.remaining ? b : a), undefined);
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

/** Redis did not answer: the configured policy decides, and the response says which applied. */
function redisUnavailable(config: Config, error: unknown): GateResult {
  const policy = config.limits.onRedisFailure;
  const state = `redis-unavailable; rate-limits=${policy.rateLimits}; quotas=${policy.quotas}`;
  console.warn(`sluice: limits: Redis unavailable (${reason(error)}); ${state}`);
  if (policy.quotas === "closed" || policy.rateLimits === "closed") {
    const what = policy.quotas === "closed" ? "Quota and budget checks" : "Rate limit checks";
    throw new GatewayError(503, "unavailable", `${what} are unavailable, so the request is refused by policy.`, {
      code: "limits_unavailable",
      headers: { "x-sluice-limits": state, "retry-after": "1" },
    });
  }
  return { headers: { "x-sluice-limits": state }, reserved: false };
}

const takeTokens = (windows: RateWindow[], units: number) =>
  windows.map((w) => w.limiter.limit(w.identifier, { rate: w.amount * units }));

/** Checks and reserves everything in one round trip (two when counters must be rebuilt), or throws the refusal. */
export async function runGate(input: GateInput): Promise<GateResult> {
  const { config, services, principal, reservation: r, leaseUnits } = input;
  const redis = services.redis;
  const markers = r.subjects.map((s) => denyMarkerKey(s.kind, s.id));
  const changes = r.subjects.map((s) => changeMarkerKey(s.kind, s.id));
  // No counters, nothing to seed: a check of requests alone never rebuilds from the ledger.
  const seeds = r.counters.length > 0 ? r.subjects.map(seedKey) : [];
  const keys = [...markers, ...changes, ...seeds, ...r.counters.map((c) => c.key)];
  const args = [
    markers.length,
    seeds.length,
    SEED_TTL_SECONDS,
    leaseUnits,
    LEASE_SHARE,
    principal.type === "admin" || principal.type === "operator" ? 0 : principal.loadedAt,
    ...r.counters.flatMap((c, j) => [c.limit, r.amounts[j] ?? 0, c.ttlSeconds]),
  ];

  await prepareScripts([GATE_SCRIPT, SETTLE_SCRIPT, SEED_SCRIPT]);
  let gate: GateReply;
  let rpm: RateResult[];
  let tpm: RateResult[];
  let leasedRpm: RateResult[];
  let leasedTpm: RateResult[];
  try {
    // Issued together, so the client sends them as one pipeline: one round trip. The lease's
    // windows are taken apart from the request's own, so a lease that does not fit refuses nothing.
    [gate, rpm, tpm, leasedRpm, leasedTpm] = await Promise.all([
      runScript<GateReply>(redis, GATE_SCRIPT, keys, args),
      Promise.all(takeTokens(r.rpm, 1)),
      Promise.all(takeTokens(r.tpm, 1)),
      Promise.all(leaseUnits > 0 ? takeTokens(r.rpm, leaseUnits) : []),
      Promise.all(leaseUnits > 0 ? takeTokens(r.tpm, leaseUnits) : []),
    ]);
  } catch (error) {
    return redisUnavailable(config, error);
  }

  const taken = (windows: RateWindow[], results: RateResult[], units: number) =>
    windows.map((window, i) => ({ window, result: results[i] as RateResult, units }));
  const leased = leaseUnits > 0 ? [...taken(r.rpm, leasedRpm, leaseUnits), ...taken(r.tpm, leasedTpm, leaseUnits)] : [];
  // What was taken for a request or a lease that will not be served goes back; a refused
  // request still counts toward its requests per minute, as it would anywhere.
  const giveBack = (counterUnits: number, rates: ReturnType<typeof taken>) => {
    const corrections: Corrections = {
      counters: counterUnits > 0 ? r.counters.map((c, j) => [c.key, -(r.amounts[j] ?? 0) * counterUnits]) : [],
      rates: rates
        .filter(({ result }) => result.success)
        .map(({ window, units }) => ({
          id: window.id,
          limiter: window.limiter,
          identifier: window.identifier,
          amount: -window.amount * units,
        })),
    };
    if (corrections.counters.length > 0 || corrections.rates.length > 0) {
      input.defer(settlementBuffer(redis).settle(corrections));
    }
  };
  const allRates = [...taken(r.tpm, tpm, 1), ...leased];

  if (gate[0] === 2) {
    // Counters missing for some subject: Redis lost them, or the subject is new. Rebuild from the ledger, then reserve.
    const missing = gate
      .slice(1)
      .map((i) => r.subjects[i - 1])
      .filter((s): s is Subject => s !== undefined);
    try {
      await rebuildCounters({
        services,
        principal,
        subjects: missing,
        counters: r.counters,
        windows: r.windows,
        now: r.now,
      });
      gate = await runScript<GateReply>(redis, GATE_SCRIPT, keys, args);
    } catch (error) {
      // Nothing was reserved against the counters; the token windows and a lease's are given back, as for a refusal.
      giveBack(0, allRates);
      if (databaseUnreachable(error)) throw error;
      return redisUnavailable(config, error);
    }
  }

  if (gate[0] === 3) {
    giveBack(0, allRates);
    throw deniedError(r.subjects[(gate[1] ?? 1) - 1]?.kind ?? "key");
  }
  if (gate[0] === 1) {
    giveBack(0, allRates);
    const refusal = counterRefusal(r.counters[(gate[1] ?? 1) - 1] as Counter);
    if (gate[3] === 4) refusedStale.add(refusal);
    throw refusal;
  }
  // Reserved, but an admin changed the caller since this isolate loaded it: its copy is to be read again.
  const stale = gate[0] === 4;
  const granted = gate[1] ?? 0;
  const headers = rateHeaders(rpm, tpm);
  const rpmDenied = rpm.findIndex((result) => !result.success);
  const tpmDenied = tpm.findIndex((result) => !result.success);
  if (rpmDenied >= 0 || tpmDenied >= 0) {
    giveBack(1 + granted, allRates);
    const error =
      rpmDenied >= 0
        ? rateRefusal("requests", (r.rpm[rpmDenied] as RateWindow).subject, rpm[rpmDenied] as RateResult)
        : rateRefusal("tokens", (r.tpm[tpmDenied] as RateWindow).subject, tpm[tpmDenied] as RateResult);
    Object.assign(error.headers, headers);
    throw error;
  }

  const view: HeadroomView = { at: Date.now(), free: new Map(), rates: new Map() };
  r.counters.forEach((c, j) => {
    if (c.limit >= 0) view.free.set(c.key, c.limit - (gate[j + 2] ?? 0));
  });
  for (const { window, result } of [...taken(r.rpm, rpm, 1), ...taken(r.tpm, tpm, 1)]) {
    view.rates.set(window.id, { limit: result.limit, remaining: result.remaining, reset: result.reset });
  }

  if (leaseUnits <= 0) return { headers, reserved: true, view, stale };
  const leaseTaken = [...leasedRpm, ...leasedTpm].every((result) => result.success);
  if (granted < 1 || !leaseTaken || stale) {
    // Half a lease is of no use, nor one taken under limits that changed: the parts that were taken go back.
    giveBack(granted, leased);
    return { headers, reserved: true, view, stale };
  }
  const lease: LeaseGrant = { counters: new Map(), rates: new Map() };
  r.counters.forEach((c, j) => {
    lease.counters.set(c.key, (r.amounts[j] ?? 0) * granted);
  });
  for (const window of [...r.rpm, ...r.tpm]) lease.rates.set(window.id, { window, left: window.amount * leaseUnits });
  return { headers, reserved: true, view, lease, stale };
}
