// W3C Trace Context: a caller's `traceparent` read, ours written, fresh ids,
// and whether a new trace is kept (the sampler).
import type { TracingConfig } from "../config/index.ts";

export interface SpanContext {
  traceId: string;
  spanId: string;
  sampled: boolean;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ALL_ZERO = /^0+$/;

/** A caller's `traceparent`, or undefined when it is absent or not one the specification accepts. */
export function parseTraceparent(header: string | undefined): SpanContext | undefined {
  if (!header) return undefined;
  const match = TRACEPARENT.exec(header.trim());
  if (!match) return undefined;
  const [, version, traceId = "", spanId = "", flags = "00", rest] = match;
  // Version ff is invalid; version 00 has nothing after the flags; a later version may, and is read as 00.
  if (version === "ff" || (version === "00" && rest)) return undefined;
  if (ALL_ZERO.test(traceId) || ALL_ZERO.test(spanId)) return undefined;
  return { traceId, spanId, sampled: (Number.parseInt(flags, 16) & 1) === 1 };
}

export const formatTraceparent = (context: SpanContext) =>
  `00-${context.traceId}-${context.spanId}-${context.sampled ? "01" : "00"}`;

export function randomHex(bytes: number): string {
  let hex = "";
  for (const byte of crypto.getRandomValues(new Uint8Array(bytes))) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

/**
 * Whether a trace is kept: a `parentbased_*` sampler follows the caller's
 * flag; otherwise the trace id's last 56 bits, read as a fraction, are
 * compared with the ratio, so every service that sees the id decides alike.
 */
export function isSampled(sampler: TracingConfig["sampler"], traceId: string, parent: SpanContext | undefined): boolean {
  if (parent && sampler.parentBased) return parent.sampled;
  if (sampler.ratio >= 1) return true;
  if (sampler.ratio <= 0) return false;
  return Number.parseInt(traceId.slice(18), 16) / 2 ** 56 < sampler.ratio;
}
