// Tool calls counted and recorded: the caller's `mcp_calls_per_minute` (one
// Redis round trip per call, only for a caller that has such a limit), and a
// ledger row per call in `mcp_calls`, written after the answer.
import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis/cloudflare";
import { type Principal, principalKeyId, principalTeamId, principalUserId } from "../auth/principal.ts";
import { mcpCalls } from "../db/schema.ts";
import { GatewayError } from "../http/errors.ts";
import { IsolateCache } from "../isolate-cache.ts";
import { reason } from "../log.ts";
import type { Services } from "../services.ts";

const limitersByRedis = new WeakMap<Redis, IsolateCache<Ratelimit>>();

function limiterFor(redis: Redis, limit: number): Ratelimit {
  let limiters = limitersByRedis.get(redis);
  if (!limiters) {
    limiters = new IsolateCache<Ratelimit>(100, Number.POSITIVE_INFINITY);
    limitersByRedis.set(redis, limiters);
  }
  let found = limiters.get(String(limit));
  if (!found) {
    // A fixed window: exactly `limit` calls per clock minute, counted in Redis for every isolate.
    found = new Ratelimit({
      redis,
      limiter: Ratelimit.fixedWindow(limit, "60 s"),
      prefix: "sluice:mcp-calls",
      analytics: false,
      ephemeralCache: false,
      timeout: 0,
    });
    limiters.set(String(limit), found);
  }
  return found;
}

/** Counts one tool call against the caller's limit; a call over it is a 429 with `Retry-After`. */
export async function admitToolCall(services: Services, principal: Principal): Promise<Record<string, string>> {
  const limit = principal.type === "admin" || principal.type === "operator" ? undefined : principal.policy.mcp_calls_per_minute;
  if (limit === undefined) return {};
  let result: Awaited<ReturnType<Ratelimit["limit"]>>;
  try {
    result = await limiterFor(services.redis, limit).limit(`${principal.type}:${principal.id}`);
  } catch (error) {
    // A limit that cannot be counted is not a limit that holds: the call is refused, as budgets are.
    throw new GatewayError(503, "unavailable", "Tool call limits cannot be checked just now; try again shortly.", {
      code: "limits_unavailable",
      headers: { "retry-after": "2" },
      cause: error,
    });
  }
  const resetSeconds = Math.max(1, Math.ceil((result.reset - Date.now()) / 1000));
  const headers = {
    "x-ratelimit-limit-tool-calls": String(limit),
    "x-ratelimit-remaining-tool-calls": String(Math.max(0, result.remaining)),
    "x-ratelimit-reset-tool-calls": `${resetSeconds}s`,
  };
  if (!result.success) {
    throw new GatewayError(429, "rate_limit", `Tool call limit reached: ${limit} per minute.`, {
      code: "mcp_rate_limited",
      headers: { ...headers, "retry-after": String(resetSeconds) },
    });
  }
  return headers;
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
