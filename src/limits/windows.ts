// Daily and monthly windows, reset at midnight and on the 1st in the configured time zone.
import { parseDuration } from "../config/index.ts";
import { IsolateCache } from "../isolate-cache.ts";

export interface Windows {
  dayKey: string;
  monthKey: string;
  dayStartMs: number;
  monthStartMs: number;
  dayResetMs: number;
  monthResetMs: number;
}

/** By time zone: settings name a handful, and a bound keeps a stray one from growing it. */
export const formatters = new IsolateCache<Intl.DateTimeFormat>(64, Number.POSITIVE_INFINITY);

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(timeZone, format);
  }
  return format;
}

const MINUTE_MS = 60_000;
export const recentWindows = new IsolateCache<{ minute: number; windows: Windows }>(64, Number.POSITIVE_INFINITY);

/**
 * The windows `now` falls in. They change only at midnight, so the result is
 * kept for the minute it was computed in (time zones change offset on whole
 * minutes): formatting a date in a time zone is the dear part.
 */
export function windowsAt(now: number, timeZone: string): Windows {
  const minute = Math.floor(now / MINUTE_MS);
  const cached = recentWindows.get(timeZone);
  if (cached?.minute === minute) return cached.windows;
  const windows = computeWindows(minute * MINUTE_MS, timeZone);
  recentWindows.set(timeZone, { minute, windows });
  return windows;
}

/** A zone's wall clock at an instant, read as if it were UTC: the date, and the wall time in ms. */
interface Wall {
  year: number;
  month: number;
  day: number;
  ms: number;
}

function wallClock(at: number, timeZone: string): Wall {
  if (timeZone === "UTC") {
    // UTC needs no formatter: building one is a cold isolate's dearest step on its first request (several ms).
    const date = new Date(at);
    return { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate(), ms: at };
  }
  const parts = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(new Date(at))
      .map((p) => [p.type, p.value]),
  );
  const year = Number(parts.year);
  const month = Number(parts.month);
  const day = Number(parts.day);
  const ms = Date.UTC(year, month - 1, day, Number(parts.hour), Number(parts.minute), Number(parts.second)) + mod(at, 1000);
  return { year, month, day, ms };
}

const mod = (n: number, m: number) => ((n % m) + m) % m;

/**
 * The instant the zone's wall clock reads `wallMs` (a midnight): its offset
 * there, found from a first guess's. Where that midnight never comes (a zone
 * that moves its clocks at midnight), the first instant of the day.
 */
function instantOf(wallMs: number, timeZone: string): number {
  if (timeZone === "UTC") return wallMs;
  const guess = wallMs - (wallClock(wallMs, timeZone).ms - wallMs);
  const instant = wallMs - (wallClock(guess, timeZone).ms - guess);
  return wallClock(instant, timeZone).ms >= wallMs ? instant : guess;
}

function computeWindows(now: number, timeZone: string): Windows {
  const { year, month, day } = wallClock(now, timeZone);
  const pad = (n: number) => String(n).padStart(2, "0");
  // Each boundary is that midnight in the zone, so a day that a clock change makes 23 or 25 hours long ends when it does.
  return {
    dayKey: `${year}${pad(month)}${pad(day)}`,
    monthKey: `${year}${pad(month)}`,
    dayStartMs: instantOf(Date.UTC(year, month - 1, day), timeZone),
    monthStartMs: instantOf(Date.UTC(year, month - 1, 1), timeZone),
    dayResetMs: instantOf(Date.UTC(year, month - 1, day + 1), timeZone),
    monthResetMs: instantOf(Date.UTC(year, month, 1), timeZone),
  };
}

export interface BudgetWindow {
  /** Distinguishes one budget period from the next; empty for a lifetime budget. */
  key: string;
  startMs: number;
  resetMs: number | null;
}

/** A key's budget period: `1d` and `1mo` follow the calendar windows, other durations fixed slices of time. */
export function budgetWindow(duration: string | null, now: number, windows: Windows): BudgetWindow {
  if (!duration) return { key: "life", startMs: 0, resetMs: null };
  if (duration === "1d") return { key: `d${windows.dayKey}`, startMs: windows.dayStartMs, resetMs: windows.dayResetMs };
  if (duration === "1mo") return { key: `m${windows.monthKey}`, startMs: windows.monthStartMs, resetMs: windows.monthResetMs };
  const periodMs = (parseDuration(duration) ?? 86_400) * 1000;
  const index = Math.floor(now / periodMs);
  return { key: `p${duration}:${index}`, startMs: index * periodMs, resetMs: (index + 1) * periodMs };
}
