// How one mock request behaves: server defaults, overridden per request by
// `x-mock-*` headers (the gateway's mock provider passes them through).
import type { IncomingHttpHeaders } from "node:http";

export interface MockDefaults {
  /** Delay before the response headers, in ms. */
  latencyMs: number;
  /** Content chunks in a stream; 0 means one per token. */
  chunks: number;
  /** Delay between stream chunks, in ms. */
  intervalMs: number;
}

export type MockFailure =
  | { kind: "status"; status: number; retryAfter?: string }
  | { kind: "drop" }
  | { kind: "cut"; afterChunks: number }
  /** The provider's own error event after N content chunks, then a clean end of the response. */
  | { kind: "event"; afterChunks: number; message: string };

export interface MockBehaviour extends MockDefaults {
  failure?: MockFailure;
  /** Reply length for the filler models. */
  tokens?: number;
  /** `x-mock-usage: none`: a whole answer without its usage, as some compatible servers send. */
  withoutUsage?: boolean;
}

const header = (headers: IncomingHttpHeaders, name: string) => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

function numberHeader(headers: IncomingHttpHeaders, name: string, fallback: number): number {
  const value = Number(header(headers, name));
  return Number.isFinite(value) && value >= 0 ? value : fallback;
}

function parseFailure(headers: IncomingHttpHeaders): MockFailure | undefined {
  const spec = header(headers, "x-mock-fail");
  if (!spec) return undefined;
  if (spec === "drop") return { kind: "drop" };
  const cut = /^cut:(\d+)$/.exec(spec);
  if (cut) return { kind: "cut", afterChunks: Number(cut[1]) };
  const event = /^event:(\d+)$/.exec(spec);
  if (event) {
    const message = header(headers, "x-mock-fail-message") ?? "mock upstream error mid-stream";
    return { kind: "event", afterChunks: Number(event[1]), message };
  }
  const status = Number(spec);
  if (Number.isInteger(status) && status >= 400 && status <= 599) {
    return { kind: "status", status, retryAfter: header(headers, "x-mock-retry-after") };
  }
  return undefined;
}

/**
 * `x-mock-fail-times: N` with `x-mock-fail-key: K` makes only the first N
 * requests carrying key K fail, so retries and failover can be exercised.
 */
export class FailureBudget {
  private readonly seen = new Map<string, number>();

  shouldFail(headers: IncomingHttpHeaders): boolean {
    const times = Number(header(headers, "x-mock-fail-times"));
    if (!Number.isFinite(times)) return true;
    const key = header(headers, "x-mock-fail-key") ?? "";
    const count = (this.seen.get(key) ?? 0) + 1;
    this.seen.set(key, count);
    return count <= times;
  }
}

/**
 * `x-mock-fail-model: M` limits the failure to requests for model M, and
 * `x-mock-fail-credential: K` to requests sent with credential K, so one
 * target of a fallback chain fails while the next one answers.
 */
function failureApplies(headers: IncomingHttpHeaders, request: { model?: string; credential: string }): boolean {
  const model = header(headers, "x-mock-fail-model");
  const credential = header(headers, "x-mock-fail-credential");
  return (!model || model === request.model) && (!credential || credential === request.credential);
}

export function behaviourFor(
  headers: IncomingHttpHeaders,
  defaults: MockDefaults,
  budget: FailureBudget,
  request: { model?: string; credential: string },
): MockBehaviour {
  const failure = failureApplies(headers, request) ? parseFailure(headers) : undefined;
  const tokens = header(headers, "x-mock-tokens");
  return {
    latencyMs: numberHeader(headers, "x-mock-latency-ms", defaults.latencyMs),
    chunks: numberHeader(headers, "x-mock-chunks", defaults.chunks),
    intervalMs: numberHeader(headers, "x-mock-interval-ms", defaults.intervalMs),
    failure: failure && budget.shouldFail(headers) ? failure : undefined,
    tokens: tokens === undefined ? undefined : Number(tokens),
    withoutUsage: header(headers, "x-mock-usage") === "none",
  };
}
