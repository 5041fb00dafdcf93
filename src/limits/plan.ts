// Which counters a request touches: for each of its key, user and team, the
// day and month token and USD counters, and a key's budget counter.
import type { Limits, Principal } from "../auth/principal.ts";
import { NO_LIMITS } from "../auth/principal.ts";
import { budgetWindow, type Windows } from "./windows.ts";

/** A guest's subjects: its `device` (`<app>:<device id>`), its `network` (`<app>:<ip hash>`) and its `app` (all guests). */
export type SubjectKind = "key" | "user" | "team" | "device" | "network" | "app";

export interface Subject {
  kind: SubjectKind;
  id: string;
  limits: Limits;
}

export interface Counter {
  subject: Subject;
  key: string;
  measure: "tokens" | "usd";
  period: "day" | "month" | "budget";
  /** In tokens, or nano-dollars; -1 for no limit. */
  limit: number;
  ttlSeconds: number;
  resetMs: number | null;
}

const SEED_TTL_SECONDS = 35 * 86_400;

export { SEED_TTL_SECONDS };

export const NANO = 1_000_000_000;
export const toNano = (usd: number) => Math.round(usd * NANO);

export function subjectsOf(principal: Principal): Subject[] {
  if (principal.type === "admin" || principal.type === "operator") return [];
  if (principal.type === "guest") {
    return [
      { kind: "device", id: `${principal.appId}:${principal.deviceId}`, limits: principal.limits },
      { kind: "network", id: `${principal.appId}:${principal.ipHash}`, limits: principal.ipLimits },
      { kind: "app", id: principal.appId, limits: principal.appLimits },
    ];
  }
  const subjects: Subject[] = [];
  if (principal.type === "key") subjects.push({ kind: "key", id: principal.keyId, limits: principal.limits });
  if (principal.userId) {
    const limits = principal.type === "user" ? principal.limits : (principal.userLimits ?? NO_LIMITS);
    subjects.push({ kind: "user", id: principal.userId, limits });
  }
  if (principal.teamId) subjects.push({ kind: "team", id: principal.teamId, limits: principal.teamLimits ?? NO_LIMITS });
  return subjects;
}

export const seedKey = (subject: Subject) => `sluice:c:${subject.kind}:${subject.id}:seeded`;

const orNone = (value: number | null) => (value === null ? -1 : value);

export function countersOf(principal: Principal, subjects: Subject[], windows: Windows, now: number): Counter[] {
  const counters: Counter[] = [];
  const day = Math.ceil((windows.dayResetMs - now) / 1000) + 86_400;
  const month = Math.ceil((windows.monthResetMs - now) / 1000) + 86_400;
  for (const subject of subjects) {
    const base = `sluice:c:${subject.kind}:${subject.id}`;
    const l = subject.limits;
    counters.push(
      {
        subject,
        key: `${base}:tok:d:${windows.dayKey}`,
        measure: "tokens",
        period: "day",
        limit: orNone(l.tokensPerDay),
        ttlSeconds: day,
        resetMs: windows.dayResetMs,
      },
      {
        subject,
        key: `${base}:tok:m:${windows.monthKey}`,
        measure: "tokens",
        period: "month",
        limit: orNone(l.tokensPerMonth),
        ttlSeconds: month,
        resetMs: windows.monthResetMs,
      },
      {
        subject,
        key: `${base}:usd:d:${windows.dayKey}`,
        measure: "usd",
        period: "day",
        limit: l.usdPerDay === null ? -1 : toNano(l.usdPerDay),
        ttlSeconds: day,
        resetMs: windows.dayResetMs,
      },
      {
        subject,
        key: `${base}:usd:m:${windows.monthKey}`,
        measure: "usd",
        period: "month",
        limit: l.usdPerMonth === null ? -1 : toNano(l.usdPerMonth),
        ttlSeconds: month,
        resetMs: windows.monthResetMs,
      },
    );
    if (subject.kind === "key" && principal.type === "key" && principal.budget) {
      const window = budgetWindow(principal.budget.duration, now, windows);
      counters.push({
        subject,
        key: `${base}:usd:b:${window.key}`,
        measure: "usd",
        period: "budget",
        limit: toNano(principal.budget.maxUsd),
        ttlSeconds: window.resetMs === null ? 0 : Math.ceil((window.resetMs - now) / 1000) + 86_400,
        resetMs: window.resetMs,
      });
    }
  }
  return counters;
}

/** The window start each counter sums the ledger from, for rebuilding it. */
export function counterStart(counter: Counter, windows: Windows, principal: Principal, now: number): number {
  if (counter.period === "day") return windows.dayStartMs;
  if (counter.period === "month") return windows.monthStartMs;
  return principal.type === "key" && principal.budget ? budgetWindow(principal.budget.duration, now, windows).startMs : 0;
}
