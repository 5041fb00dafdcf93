// Redis counters are a cache of the Postgres ledger: a subject whose counters
// are gone (Redis lost them, or it is new) gets them rebuilt from the ledger,
// the model calls' costs and the priced MCP tool calls' alike.
import { and, eq, type SQL, sql } from "drizzle-orm";
import type { Principal } from "../auth/principal.ts";
import { mcpCalls, usageEvents } from "../db/schema.ts";
import type { Services } from "../services.ts";
import { type Counter, counterStart, SEED_TTL_SECONDS, type Subject, seedKey, toNano } from "./plan.ts";
import { runScript } from "./redis-scripts.ts";
import { SEED_SCRIPT } from "./scripts.ts";
import type { Windows } from "./windows.ts";

/** The ledger rows a subject's counters sum; a guest's device and network are `<app>:<id>`. */
function subjectRows(subject: Subject): SQL | undefined {
  if (subject.kind === "key") return eq(usageEvents.keyId, subject.id);
  if (subject.kind === "user") return eq(usageEvents.userId, subject.id);
  if (subject.kind === "team") return eq(usageEvents.teamId, subject.id);
  if (subject.kind === "app") return eq(usageEvents.appId, subject.id);
  const colon = subject.id.indexOf(":");
  const [appId, rest] = [subject.id.slice(0, colon), subject.id.slice(colon + 1)];
  return and(eq(usageEvents.appId, appId), eq(subject.kind === "device" ? usageEvents.deviceId : usageEvents.ipHash, rest));
}

interface RebuildInput {
  services: Services;
  principal: Principal;
  subjects: Subject[];
  counters: Counter[];
  windows: Windows;
  now: number;
}

/** The tool-call rows a subject's dollar counters also sum; tool calls have no app, device or network. */
function toolCallRows(subject: Subject): SQL | undefined {
  if (subject.kind === "key") return eq(mcpCalls.keyId, subject.id);
  if (subject.kind === "user") return eq(mcpCalls.userId, subject.id);
  if (subject.kind === "team") return eq(mcpCalls.teamId, subject.id);
  return undefined;
}

/** Dollars of priced tool calls per counter (0 for token counters), in one query. */
async function toolCallCosts(input: RebuildInput, subject: Subject, counters: Counter[], starts: number[]): Promise<number[]> {
  const rows = toolCallRows(subject);
  if (!rows || !counters.some((c) => c.measure === "usd")) return counters.map(() => 0);
  const earliest = new Date(Math.min(...starts)).toISOString();
  const columns = counters.map((counter, j) => {
    const from = new Date(starts[j] ?? 0).toISOString();
    const measure = counter.measure === "usd" ? mcpCalls.costUsd : sql`0`;
    return sql`coalesce(sum(${measure}) filter (where ${mcpCalls.createdAt} >= ${from}), 0)::text as ${sql.raw(`c${j}`)}`;
  });
  const result = await input.services.db.execute(
    sql`select ${sql.join(columns, sql`, `)} from ${mcpCalls} where ${rows} and ${mcpCalls.createdAt} >= ${earliest}`,
  );
  const row = (result.rows[0] ?? {}) as Record<string, string>;
  return counters.map((_, j) => Number(row[`c${j}`] ?? 0));
}

/**
 * A row's tokens as its request was counted against the token windows: its
 * text tokens, and a realtime session's audio tokens (kept as its media,
 * since they are priced apart) beside them.
 */
const audioTokens = (side: "input" | "output") => {
  const path = sql.raw(`'{media,audioTokens,${side}}'`);
  // Only a number is read as one: a row whose media holds anything else counts none, rather than failing the rebuild.
  return sql`coalesce(case when jsonb_typeof(${usageEvents.metadata} #> ${path}) = 'number' then (${usageEvents.metadata} #>> ${path})::numeric end, 0)`;
};
export const countedTokens = sql`${usageEvents.promptTokens} + ${usageEvents.completionTokens} + ${audioTokens("input")} + ${audioTokens("output")}`;

/** What the ledger says a counter should hold. */
async function ledgerValues(input: RebuildInput, subject: Subject, counters: Counter[]): Promise<number[]> {
  const starts = counters.map((c) => counterStart(c, input.windows, input.principal, input.now));
  const earliest = new Date(Math.min(...starts)).toISOString();
  const columns = counters.map((counter, j) => {
    const from = new Date(starts[j] ?? 0).toISOString();
    const measure = counter.measure === "tokens" ? countedTokens : usageEvents.costUsd;
    return sql`coalesce(sum(${measure}) filter (where ${usageEvents.createdAt} >= ${from}), 0)::text as ${sql.raw(`c${j}`)}`;
  });
  const [result, tools] = await Promise.all([
    input.services.db.execute(
      sql`select ${sql.join(columns, sql`, `)} from ${usageEvents} where ${subjectRows(subject)} and ${usageEvents.createdAt} >= ${earliest}`,
    ),
    toolCallCosts(input, subject, counters, starts),
  ]);
  const row = (result.rows[0] ?? {}) as Record<string, string>;
  return counters.map((counter, j) => {
    const value = Number(row[`c${j}`] ?? 0) + (tools[j] ?? 0);
    return counter.measure === "tokens" ? Math.round(value) : toNano(value);
  });
}

export async function rebuildCounters(input: RebuildInput): Promise<void> {
  for (const subject of input.subjects) {
    const counters = input.counters.filter((c) => c.subject === subject);
    const values = await ledgerValues(input, subject, counters);
    await runScript(
      input.services.redis,
      SEED_SCRIPT,
      [seedKey(subject), ...counters.map((c) => c.key)],
      [SEED_TTL_SECONDS, ...counters.flatMap((c, j) => [values[j] ?? 0, c.ttlSeconds])],
    );
  }
}
