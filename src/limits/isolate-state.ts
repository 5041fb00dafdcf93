// What one isolate knows of each caller's limits between gate replies: the
// headroom the last reply showed (to decide whether the next check may run
// alongside the upstream call), the caller's recent request rate, and the
// lease it holds (reservations it may hand out itself until it expires).
// A bounded cache; forgetting an entry only costs a round trip.
import { IsolateCache } from "../isolate-cache.ts";
import type { HeadroomView, LeaseGrant } from "./gate.ts";
import type { RateWindow, Reservation } from "./reservation.ts";
import type { Corrections } from "./settlement.ts";

/** A view older than this says nothing about now. */
const VIEW_MAX_AGE_MS = 10_000;
/** The check overlaps the upstream call only with this many times the request's needs left. */
const OVERLAP_MARGIN = 4;
/** A lease is asked for when it would last about this many times the caller's rate over its life. */
const LEASE_RATE_FACTOR = 1.5;
const LEASE_MAX_UNITS = 512;
/** Requests a second below which a lease is not worth its hand-back. */
const LEASE_MIN_RATE = 4;
/** A lease takes at most one part in this many of what a limit has left. */
const LEASE_SHARE = 8;

export interface Lease extends LeaseGrant {
  expiresAt: number;
  open: boolean;
}

/** Whether the lease holds what each of the request's rate windows needs. */
const ratesHold = (lease: Lease, windows: readonly RateWindow[]) =>
  windows.every((window) => (lease.rates.get(window.id)?.left ?? -1) >= window.amount);

export class CallerLimits {
  view: HeadroomView | undefined;
  lease: Lease | undefined;
  /** A gate call asking for a lease is under way; others do not ask too. */
  leasing = false;
  private second = 0;
  private inSecond = 0;
  /** Requests in the whole second before this one. */
  private previous = 0;

  noteArrival(now: number): void {
    const second = Math.floor(now / 1000);
    if (second !== this.second) {
      this.previous = second === this.second + 1 ? this.inSecond : 0;
      this.second = second;
      this.inSecond = 0;
    }
    this.inSecond += 1;
  }

  /**
   * Requests over the last second, sliding: the previous second's count for
   * the part of it still inside, and this second's so far. (Counting whole
   * seconds only, a caller first seen late in a second would look idle for the
   * whole of the next.)
   */
  private rateAt(now: number): number {
    const into = (now % 1000) / 1000;
    return this.previous * (1 - into) + this.inSecond;
  }

  private freshView(now: number): HeadroomView | undefined {
    return this.view && now - this.view.at <= VIEW_MAX_AGE_MS ? this.view : undefined;
  }

  /** How many times this request's needs every limit had left when last seen (0 where one is unknown). */
  private timesLeft(view: HeadroomView, r: Reservation): number {
    let times = Number.POSITIVE_INFINITY;
    for (const [j, counter] of r.counters.entries()) {
      if (counter.limit < 0) continue;
      const free = view.free.get(counter.key);
      const need = r.amounts[j] ?? 0;
      if (free === undefined) return 0;
      if (need > 0) times = Math.min(times, free / need);
    }
    for (const window of [...r.rpm, ...r.tpm]) {
      const state = view.rates.get(window.id);
      if (!state) return 0;
      if (window.amount > 0) times = Math.min(times, state.remaining / window.amount);
    }
    return times;
  }

  /** Whether every limit had at least `margin` × this request's needs left when last seen. */
  private roomFor(view: HeadroomView, r: Reservation, margin: number): boolean {
    return this.timesLeft(view, r) >= margin;
  }

  /** Takes the request's reservation from the lease, when the lease holds enough of everything. */
  draw(r: Reservation, now: number): boolean {
    const lease = this.lease;
    if (!lease?.open || now >= lease.expiresAt) return false;
    // Plain loops, not entries() or spread lists: a warm request's draw allocates next to nothing.
    const { counters, amounts } = r;
    let j = 0;
    for (const counter of counters) {
      if ((lease.counters.get(counter.key) ?? -1) < (amounts[j++] ?? 0)) return false;
    }
    if (!ratesHold(lease, r.rpm) || !ratesHold(lease, r.tpm)) return false;
    j = 0;
    for (const { key } of counters) lease.counters.set(key, (lease.counters.get(key) ?? 0) - (amounts[j++] ?? 0));
    this.takeRates(lease, r.rpm);
    this.takeRates(lease, r.tpm);
    return true;
  }

  private takeRates(lease: Lease, windows: readonly RateWindow[]): void {
    for (const window of windows) {
      const held = lease.rates.get(window.id);
      if (held) held.left -= window.amount;
      const state = this.view?.rates.get(window.id);
      if (state) state.remaining -= window.amount;
    }
  }

  /**
   * Whether the check may run alongside the upstream call: the last view is
   * fresh and shows ample room. The request's needs are taken from the view
   * at once, so a burst cannot all overlap on the strength of one reply.
   */
  mayOverlap(r: Reservation, now: number): boolean {
    const view = this.freshView(now);
    if (!view || !this.roomFor(view, r, OVERLAP_MARGIN)) return false;
    r.counters.forEach((counter, j) => {
      const free = view.free.get(counter.key);
      if (free !== undefined) view.free.set(counter.key, free - (r.amounts[j] ?? 0));
    });
    for (const window of [...r.rpm, ...r.tpm]) {
      const state = view.rates.get(window.id);
      if (state) state.remaining -= window.amount;
    }
    return true;
  }

  /**
   * Further requests' worth to lease with this gate call: about the caller's
   * rate over the lease's life, cut to an eighth of what the limits had left
   * (a fast caller close to a limit gets a smaller lease, not none), or none.
   */
  leaseUnitsWanted(r: Reservation, leaseMs: number, now: number): number {
    if (leaseMs <= 0 || this.leasing) return 0;
    const rate = this.rateAt(now);
    if (rate < LEASE_MIN_RATE) return 0;
    const wanted = Math.min(LEASE_MAX_UNITS, Math.ceil(rate * (leaseMs / 1000) * LEASE_RATE_FACTOR));
    const view = this.freshView(now);
    if (!view) return 0;
    // The windows are held to the share here, the counters by the gate script too.
    const units = Math.min(wanted, Math.floor(this.timesLeft(view, r) / LEASE_SHARE) - 1);
    return units >= 2 ? units : 0;
  }

  /**
   * Settles a request drawn from the lease into the lease itself: what it did
   * not use goes back to be handed out again (and is given back to Redis with
   * the rest when the lease closes). False once the lease has closed.
   */
  credit(lease: Lease, corrections: Corrections): boolean {
    if (!lease.open) return false;
    for (const [key, change] of corrections.counters) lease.counters.set(key, (lease.counters.get(key) ?? 0) - change);
    for (const rate of corrections.rates) {
      const held = lease.rates.get(rate.id);
      if (held) held.left -= rate.amount;
    }
    return true;
  }

  /** Closes the lease; the reservations it did not hand out (or a request's use beyond its share), to settle. */
  closeLease(lease: Lease): Corrections | undefined {
    if (!lease.open) return undefined;
    lease.open = false;
    if (this.lease === lease) this.lease = undefined;
    const corrections: Corrections = { counters: [], rates: [] };
    for (const [key, left] of lease.counters) if (left !== 0) corrections.counters.push([key, -left]);
    for (const { window, left } of lease.rates.values()) {
      if (left !== 0)
        corrections.rates.push({ id: window.id, limiter: window.limiter, identifier: window.identifier, amount: -left });
    }
    lease.counters.clear();
    lease.rates.clear();
    return corrections;
  }
}

const callers = new IsolateCache<CallerLimits>(10_000, 5 * 60_000);

export const callerKey = (principal: { type: string; id: string }) => `${principal.type}:${principal.id}`;

export function callerLimits(key: string): CallerLimits {
  let found = callers.get(key);
  if (!found) {
    found = new CallerLimits();
    callers.set(key, found);
  }
  return found;
}

/**
 * Forgets what this isolate knew of a caller, whose limits changed: the next
 * request goes to the gate. A lease it held still gives back its unused part
 * when it expires.
 */
export function forgetCallerLimits(key: string): void {
  callers.delete(key);
}
