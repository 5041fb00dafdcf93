// Tool calls counted and recorded: the caller's `mcp_calls_per_minute` and
// `mcp_calls_per_day` (one Redis round trip per call, in parallel, only for a
// caller that has such a limit), and a
// ledger row per call in `mcp_calls`, written after the answer.
import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis/cloudflare";
import { type Principal, principalKeyId, principalPolicy, principalTeamId, principalUserId } from "../auth/principal.ts";
import type { Config } from "../config/index.ts";
import { mcpCalls } from "../db/schema.ts";
import { GatewayError } from "../http/errors.ts";
import { IsolateCache } from "../isolate-cache.ts";
import { admit } from "../limits/index.ts";
import { reason } from "../log.ts";
import type { Services } from "../services.ts";

type Window = "minute" | "day";
const WINDOWS: Record<Window, { duration: "60 s" | "1 d"; prefix: string; header: string; per: string }> = {
  minute: { duration: "60 s", prefix: "sluice:mcp-calls", header: "tool-calls", per: "per minute" },
  day: { duration: "1 d", prefix: "sluice:mcp-calls-day", header: "tool-calls-day", per: "per day (UTC)" },
};

const limitersByRedis = new WeakMap<Redis, IsolateCache<Ratelimit>>();

function limiterFor(redis: Redis, window: Window, limit: number): Ratelimit {
  let limiters = limitersByRedis.get(redis);
  if (!limiters) {
    limiters = new IsolateCache<Ratelimit>(100, Number.POSITIVE_INFINITY);
    limitersByRedis.set(redis, limiters);
  }
  const name = `${window}:${limit}`;
  let found = limiters.get(name);
  if (!found) {
    // A fixed window: exactly `limit` calls per clock minute (or UTC day), counted in Redis for every isolate.
    found = new Ratelimit({
      redis,
      limiter: Ratelimit.fixedWindow(limit, WINDOWS[window].duration),
      prefix: WINDOWS[window].prefix,
      analytics: false,
      ephemeralCache: false,
      timeout: 0,
    });
    limiters.set(name, found);
  }
  return found;
}

/**
 * Counts one tool call against the caller's limits per minute and per day (both in one go, in parallel);
 * a call over either is a 429 with `Retry-After`. A caller with neither costs nothing.
 */
export async function admitToolCall(services: Services, principal: Principal): Promise<Record<string, string>> {
  const policy = principalPolicy(principal);
  if (!policy) return {};
  const limits = (
    [
      ["minute", policy.mcp_calls_per_minute],
      ["day", policy.mcp_calls_per_day],
    ] as const
  ).filter((entry): entry is readonly [Window, number] => entry[1] !== undefined);
  if (limits.length === 0) return {};
  let results: Awaited<ReturnType<Ratelimit["limit"]>>[];
  try {
    results = await Promise.all(
      limits.map(([window, limit]) => limiterFor(services.redis, window, limit).limit(`${principal.type}:${principal.id}`)),
    );
  } catch (error) {
    // A limit that cannot be counted is not a limit that holds: the call is refused, as budgets are.
    throw new GatewayError(503, "unavailable", "Tool call limits cannot be checked just now; try again shortly.", {
      code: "limits_unavailable",
      headers: { "retry-after": "2" },
      cause: error,
    });
  }
  const headers: Record<string, string> = {};
  let refused: { limit: number; window: Window; resetSeconds: number } | undefined;
  for (const [i, [window, limit]] of limits.entries()) {
    const result = results[i] as Awaited<ReturnType<Ratelimit["limit"]>>;
    const resetSeconds = Math.max(1, Math.ceil((result.reset - Date.now()) / 1000));
    const name = WINDOWS[window].header;
    headers[`x-ratelimit-limit-${name}`] = String(limit);
    headers[`x-ratelimit-remaining-${name}`] = String(Math.max(0, result.remaining));
    headers[`x-ratelimit-reset-${name}`] = `${resetSeconds}s`;
    if (!result.success && (!refused || resetSeconds > refused.resetSeconds)) refused = { limit, window, resetSeconds };
  }
  if (refused) {
    throw new GatewayError(429, "rate_limit", `Tool call limit reached: ${refused.limit} ${WINDOWS[refused.window].per}.`, {
      code: "mcp_rate_limited",
      headers: { ...headers, "retry-after": String(refused.resetSeconds) },
    });
  }
  return headers;
}

/**
 * A priced tool call's price, reserved against the caller's budgets and USD quotas (global, team, user,
 * key) before the call, as a model call's worst case is; refused with the same 429 when it does not fit.
 * Answers the settlement, which charges what the call cost (nothing for a call the server failed).
 * A free server, or a caller without such limits, costs nothing here.
 */
export async function reserveToolPrice(input: {
  config: Config;
  services: Services;
  principal: Principal;
  price: number | null;
  defer: (work: Promise<unknown>) => void;
}): Promise<(usd: number) => void> {
  const { principal, price, defer } = input;
  if (!price || principal.type === "admin") return () => undefined;
  const admission = admit({
    config: input.config,
    services: input.services,
    principal,
    estimate: { inputTokens: 0, outputTokens: 0, usd: price },
    price: undefined,
    defer,
  });
  await admission.ready;
  return (usd) => defer(admission.settle({ tokens: 0, usd }));
}

export interface ToolCallRecord {
  requestId: string;
  server: string;
  tool: string;
  principal: Principal;
  status: "ok" | "tool_error" | "error" | "rate_limited";
  error?: string;
  latencyMs: number;
  bytesIn: number;
  bytesOut: number;
  costUsd: number;
}

/** Writes a tool call's ledger row; a failed write is logged, never the caller's problem. */
export async function recordToolCall(services: Services, record: ToolCallRecord): Promise<void> {
  const { principal } = record;
  try {
    await services.db
      .insert(mcpCalls)
      .values({
        requestId: record.requestId,
        server: record.server,
        tool: record.tool,
        principalType: principal.type,
        principalId: principal.id,
        userId: principalUserId(principal),
        keyId: principalKeyId(principal),
        teamId: principalTeamId(principal),
        status: record.status,
        error: record.error ?? null,
        latencyMs: Math.round(record.latencyMs),
        bytesIn: record.bytesIn,
        bytesOut: record.bytesOut,
        costUsd: record.costUsd,
      })
      .onConflictDoNothing();
  } catch (error) {
    console.error(`sluice: ${record.requestId} mcp ledger write failed: ${reason(error)}`);
  }
}
