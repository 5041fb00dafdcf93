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

const DAY_MS = 86_400_000;
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

function computeWindows(now: number, timeZone: string): Windows {
  const parts = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(new Date(now))
      .map((p) => [p.type, p.value]),
  );
  const year = Number(parts.year);
  const month = Number(parts.month);
  const day = Number(parts.day);
  const sinceMidnight = (Number(parts.hour) * 3600 + Number(parts.minute) * 60 + Number(parts.second)) * 1000 + (now % 1000);
  const dayStartMs = now - sinceMidnight;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return {
    dayKey: `${year}${String(month).padStart(2, "0")}${String(day).padStart(2, "0")}`,
    monthKey: `${year}${String(month).padStart(2, "0")}`,
    dayStartMs,
    monthStartMs: dayStartMs - (day - 1) * DAY_MS,
    dayResetMs: dayStartMs + DAY_MS,
    monthResetMs: dayStartMs + (daysInMonth - day + 1) * DAY_MS,
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
