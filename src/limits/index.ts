// Admission and settlement. Every limit of the caller's key, user and team is
// checked and the request's worst case reserved, in one Redis round trip that
// keeps the counts exact; afterwards the reservation is settled to the real
// usage. The round trip is kept off the request's path where the isolate can
// afford it:
//   - lease: the isolate holds reservations taken earlier for this caller and
//     hands one out itself; no round trip at all.
//   - overlapped: the last reply showed ample room, so the check runs
//     alongside the upstream call, and no byte reaches the client before it
//     admits the request (a refusal aborts the upstream call).
//   - sequential: room is thin or unknown, so the check runs first.
import type { Principal } from "../auth/principal.ts";
import type { Config } from "../config/index.ts";
import { GatewayError } from "../http/errors.ts";
import { reason } from "../log.ts";
import type { Services } from "../services.ts";
import type { Price } from "../usage/prices.ts";
import { rateHeaders, refusedStale, runGate } from "./gate.ts";
import { type CallerLimits, callerKey, callerLimits, type Lease } from "./isolate-state.ts";
import { countersOf, subjectsOf } from "./plan.ts";
import { type Actual, correctionsFor, type Estimate, type Reservation, reserve } from "./reservation.ts";
import { settlementBuffer } from "./settlement.ts";
import { windowsAt } from "./windows.ts";

export type { Actual, Estimate } from "./reservation.ts";

export type AdmissionMode = "unlimited" | "lease" | "overlapped" | "sequential";

export interface Admission {
  readonly mode: AdmissionMode;
  /** Resolves with the limit headers once the request is admitted; rejects with the refusal. */
  readonly ready: Promise<Record<string, string>>;
  /** Settles the reservation to what the request used, once `ready` has resolved; the promise is deferred work. */
  settle(actual: Actual): Promise<void>;
  /** Once `ready` has resolved: whether anything was reserved (not when the limits could not be reached and the policy let the request through). */
  readonly reserved: boolean;
}

interface AdmitInput {
  config: Config;
  services: Services;
  principal: Principal;
  estimate: Estimate;
  price: Price | undefined;
  /** Runs work after the response (ctx.waitUntil). */
  defer: (work: Promise<unknown>) => void;
  /**
   * Reads the caller again when the check finds that an admin changed it
   * since this isolate loaded it; throws the refusal the fresh copy calls
   * for. Limits that changed apply from the caller's next request.
   */
  refresh?: () => Promise<unknown>;
  /**
   * `requests`: only the per-minute request windows (and the deny markers) apply; no quota, budget or token window.
   * `spend`: the quota and budget counters alone, always checked in Redis (no lease): what a running session has used, charged as it goes.
   */
  only?: "requests" | "spend";
}

const NOTHING_TO_SETTLE = async () => undefined;

function admitted(mode: AdmissionMode, headers: Record<string, string>, settle: Admission["settle"]): Admission {
  return { mode, ready: Promise.resolve(headers), settle, reserved: mode !== "unlimited" };
}

function leaseHeaders(caller: CallerLimits, r: Reservation): Record<string, string> {
  const seen = (ids: string[]) => ids.flatMap((id) => caller.view?.rates.get(id) ?? []);
  return rateHeaders(seen(r.rpm.map((w) => w.id)), seen(r.tpm.map((w) => w.id)));
}

/** Holds a new lease until it expires, then gives back what it did not hand out. */
function holdLease(input: AdmitInput, caller: CallerLimits, lease: Lease): void {
  const buffer = settlementBuffer(input.services.redis);
  const previous = caller.lease;
  caller.lease = lease;
  const handBack = (old: Lease) => {
    const corrections = caller.closeLease(old);
    return corrections ? buffer.settle(corrections) : Promise.resolve();
  };
  if (previous) input.defer(handBack(previous));
  const wait = Math.max(0, lease.expiresAt - Date.now()) + 5;
  input.defer(new Promise((resolve) => setTimeout(resolve, wait)).then(() => handBack(lease)));
}

/** The caller read again; a refusal gives back what was reserved, a store that cannot be reached leaves the copy in use. */
async function refreshed(input: AdmitInput, giveBack: () => Promise<void>): Promise<void> {
  try {
    await input.refresh?.();
  } catch (error) {
    if (!(error instanceof GatewayError) || error.status === 503) {
      console.warn(`sluice: limits: the caller changed but could not be read again; its copy stays (${reason(error)})`);
      return;
    }
    input.defer(giveBack());
    throw error;
  }
}

/** Admits the request, or refuses it through `ready`; the mode says whether the upstream call may start now. */
export function admit(input: AdmitInput): Admission {
  const { config, services, principal } = input;
  const reservation = reserve({
    config,
    redis: services.redis,
    principal,
    estimate: input.estimate,
    price: input.price,
    only: input.only,
  });
  if (!reservation) return admitted("unlimited", {}, NOTHING_TO_SETTLE);
  /** Whether the reservation was made: not when Redis was down and the policy let the request through. */
  let reserved = true;
  const settle = (actual: Actual) =>
    reserved ? settlementBuffer(services.redis).settle(correctionsFor(reservation, actual)) : Promise.resolve();
  const caller = callerLimits(callerKey(principal));
  const now = reservation.now;
  // A session's charges are not requests: they neither shape the caller's lease nor draw from it.
  const charge = input.only === "spend";
  if (!charge) caller.noteArrival(now);
  const lease = caller.lease;
  if (!charge && lease && caller.draw(reservation, now)) {
    return admitted("lease", leaseHeaders(caller, reservation), async (actual) => {
      const corrections = correctionsFor(reservation, actual);
      if (!caller.credit(lease, corrections)) await settlementBuffer(services.redis).settle(corrections);
    });
  }

  const overlapped = !charge && config.limits.overlap && caller.mayOverlap(reservation, now);
  const leaseUnits = charge ? 0 : caller.leaseUnitsWanted(reservation, config.limits.leaseMs, now);
  if (leaseUnits > 0) caller.leasing = true;
  const ready = runGate({ config, services, principal, reservation, leaseUnits, defer: input.defer })
    .then(async (result) => {
      reserved = result.reserved;
      // A charge's reply reads only the counters: the caller's view of its windows stays as its requests last saw it.
      if (result.view && !charge) caller.view = result.view;
      if (result.lease) holdLease(input, caller, { ...result.lease, expiresAt: Date.now() + config.limits.leaseMs, open: true });
      if (result.stale && input.refresh) await refreshed(input, () => settle({ tokens: 0, usd: 0 }));
      return result.headers;
    })
    .catch((error: unknown) => {
      // Refused under a copy an admin has changed since: read the caller again for its next request; this one stays refused.
      // (Not an async handler: one would hand back a promise already rejected, which the runtime reports as unhandled.)
      if (!(error instanceof GatewayError && refusedStale.has(error) && input.refresh)) throw error;
      const rethrow = () => {
        throw error;
      };
      return input.refresh().then(rethrow, rethrow);
    })
    .finally(() => {
      if (leaseUnits > 0) caller.leasing = false;
    });
  // Whoever awaits `ready` sees the refusal; nobody awaiting it is not an unhandled rejection.
  ready.catch(() => undefined);
  return {
    mode: overlapped ? "overlapped" : "sequential",
    ready,
    settle,
    get reserved() {
      return reserved;
    },
  };
}

/**
 * The share of the caller's tightest budget or quota (tokens or dollars, per
 * day, month or budget period, of its key, user or team) used, as this
 * isolate's last reply from the limits check showed it, with requests since
 * taken from it; undefined when no such limit applies or none has been seen.
 * No round trip: what the isolate already knows.
 */
export function budgetUsedShare(config: Config, principal: Principal, now = Date.now()): number | undefined {
  const subjects = subjectsOf(principal);
  if (subjects.length === 0) return undefined;
  const view = callerLimits(callerKey(principal)).view;
  if (!view) return undefined;
  let used: number | undefined;
  for (const counter of countersOf(principal, subjects, windowsAt(now, config.limits.timeZone), now)) {
    const free = view.free.get(counter.key);
    if (counter.limit <= 0 || free === undefined) continue;
    used = Math.max(used ?? 0, Math.min(1, (counter.limit - free) / counter.limit));
  }
  return used;
}
