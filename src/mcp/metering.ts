// Tool calls counted and recorded: the caller's `mcp_calls_per_minute` and
// `mcp_calls_per_day`, counted under the caller and, for a key, its user too
// (one atomic Redis script per call, only for a caller that has such a limit),
// and a ledger row per call in `mcp_calls`, written after the answer.
import type { Redis } from "@upstash/redis/cloudflare";
import { type Principal, principalKeyId, principalPolicy, principalTeamId, principalUserId } from "../auth/principal.ts";
import type { Config } from "../config/index.ts";
import { mcpCalls } from "../db/schema.ts";
import { GatewayError } from "../http/errors.ts";
import { admit } from "../limits/index.ts";
import { prepareScripts, runScript } from "../limits/redis-scripts.ts";
import { reason } from "../log.ts";
import type { Services } from "../services.ts";

type Window = "minute" | "day";
// The key prefixes are those @upstash/ratelimit's fixed windows used, so a deploy keeps the window's count.
const WINDOWS: Record<Window, { ms: number; prefix: string; header: string; per: string }> = {
  minute: { ms: 60_000, prefix: "sluice:mcp-calls", header: "tool-calls", per: "per minute" },
  day: { ms: 86_400_000, prefix: "sluice:mcp-calls-day", header: "tool-calls-day", per: "per day (UTC)" },
};

/**
 * KEYS: counters (one per subject and window); ARGV: per counter, its limit and its window in ms.
 * Counts the call on every counter, or on none when any is already at its limit: a refused call
 * uses up nothing. Returns {1 when refused, then each counter's value (after the call when counted)}.
 */
const COUNT_TOOL_CALL_SCRIPT = `
local refused = 0
local out = {0}
for j = 1, #KEYS do
  local value = tonumber(redis.call('GET', KEYS[j]) or '0')
  if value >= tonumber(ARGV[j * 2 - 1]) then refused = 1 end
  out[j + 1] = value
end
if refused == 0 then
  for j = 1, #KEYS do
    out[j + 1] = redis.call('INCR', KEYS[j])
    if out[j + 1] == 1 then redis.call('PEXPIRE', KEYS[j], ARGV[j * 2]) end
  end
end
out[1] = refused
return {unpack(out)}
`;

type ToolCallLimits = Partial<Record<Window, number>>;

/**
 * Whom a tool call counts against, each with its own numbers: the caller, held to the lowest of all its
 * levels; and for a key bound to a user, that user too, held to the user's own (global, team, user), so the
 * keys a user mints share the user's count rather than each bringing a fresh allowance.
 */
function countedAs(principal: Principal, own: ToolCallLimits): { subject: string; limits: ToolCallLimits }[] {
  if (principal.type !== "key") return [{ subject: `${principal.type}:${principal.id}`, limits: own }];
  const key = { subject: `key:${principal.keyId}`, limits: own };
  if (!principal.userId || !principal.ownerToolCalls) return [key];
  return [key, { subject: `user:${principal.userId}`, limits: principal.ownerToolCalls }];
}

interface Counter {
  window: Window;
  limit: number;
  key: string;
  resetSeconds: number;
}

async function countToolCall(redis: Redis, counters: Counter[]): Promise<{ refused: boolean; values: number[] }> {
  await prepareScripts([COUNT_TOOL_CALL_SCRIPT]);
  const args = counters.flatMap((counter) => [counter.limit, WINDOWS[counter.window].ms]);
  const [refused, ...values] = await runScript<number[]>(
    redis,
    COUNT_TOOL_CALL_SCRIPT,
    counters.map((counter) => counter.key),
    args,
  );
  return { refused: refused === 1, values: values.map(Number) };
}

/**
 * Counts one tool call against the caller's limits per minute and per day, under each subject it counts as
 * (all in one atomic round trip); a call over any is a 429 with `Retry-After` and counts nowhere. A caller
 * with neither limit costs nothing.
 */
export async function admitToolCall(services: Services, principal: Principal): Promise<Record<string, string>> {
  const policy = principalPolicy(principal);
  if (!policy) return {};
  // A key's user's numbers are never looser than the key's own, which include them.
  if (policy.mcp_calls_per_minute === undefined && policy.mcp_calls_per_day === undefined) return {};
  const now = Date.now();
  const own = { minute: policy.mcp_calls_per_minute, day: policy.mcp_calls_per_day };
  const counters: Counter[] = [];
  for (const { subject, limits } of countedAs(principal, own)) {
    for (const window of ["minute", "day"] as const) {
      const limit = limits[window];
      if (limit === undefined) continue;
      const bucket = Math.floor(now / WINDOWS[window].ms);
      const resetSeconds = Math.max(1, Math.ceil(((bucket + 1) * WINDOWS[window].ms - now) / 1000));
      counters.push({ window, limit, key: `${WINDOWS[window].prefix}:${subject}:${bucket}`, resetSeconds });
    }
  }
  let counted: { refused: boolean; values: number[] };
  try {
    counted = await countToolCall(services.redis, counters);
  } catch (error) {
    // A limit that cannot be counted is not a limit that holds: the call is refused, as budgets are.
    throw new GatewayError(503, "unavailable", "Tool call limits cannot be checked just now; try again shortly.", {
      code: "limits_unavailable",
      headers: { "retry-after": "2" },
      cause: error,
    });
  }
  // Each window's headers show its subject with the least left; a refused call names the window refusing for longer.
  const tightest = new Map<Window, { counter: Counter; remaining: number }>();
  for (const [j, counter] of counters.entries()) {
    const remaining = Math.max(0, counter.limit - (counted.values[j] ?? 0));
    const shown = tightest.get(counter.window);
    if (!shown || remaining < shown.remaining) tightest.set(counter.window, { counter, remaining });
  }
  const headers: Record<string, string> = {};
  let refused: Counter | undefined;
  for (const [window, { counter, remaining }] of tightest) {
    const name = WINDOWS[window].header;
    headers[`x-ratelimit-limit-${name}`] = String(counter.limit);
    headers[`x-ratelimit-remaining-${name}`] = String(remaining);
    headers[`x-ratelimit-reset-${name}`] = `${counter.resetSeconds}s`;
    const refuses = counted.refused && remaining === 0;
    if (refuses && (!refused || counter.resetSeconds > refused.resetSeconds)) refused = counter;
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
