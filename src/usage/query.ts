// Reading the ledger: a caller's own rows or everyone's, newest first, a page
// at a time (keyset cursors, never OFFSET), or totals grouped by time and by
// who and what. Every query is bounded: a time window of at most a year
// (30 days back by default), and at most 500 rows a page; the indexes on
// (subject, created_at, id) and (created_at, id) serve them.
import { and, desc, eq, lt, or, type SQL, sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { usageEvents } from "../db/schema.ts";
import { badRequest } from "../http/errors.ts";
import * as z from "../zod.ts";

const DAY_MS = 86_400_000;
export const MAX_PAGE = 500;
const DEFAULT_PAGE = 100;
const DEFAULT_SPAN_DAYS = 30;
const MAX_SPAN_DAYS = 366;

/** Groupings: those any caller may ask for, and those over everyone (the admin's). */
export const OWN_GROUPS = ["total", "day", "model", "provider", "modality"] as const;
export const ADMIN_GROUPS = [
  "total",
  "day",
  "hour",
  "minute",
  "model",
  "provider",
  "modality",
  "user",
  "team",
  "key",
  "app",
  "device",
  "guardrail",
  "guardrail_verdict",
  "route",
  "route_arm",
] as const;
export type Group = (typeof ADMIN_GROUPS)[number];

/** `total` groups nothing: one row over the whole window. */
const GROUP_COLUMNS: Record<Exclude<Group, "total">, SQL> = {
  minute: sql`to_char(date_trunc('minute', ${usageEvents.createdAt} at time zone 'UTC'), 'YYYY-MM-DD"T"HH24":"MI":00Z"')`,
  day: sql`to_char(date_trunc('day', ${usageEvents.createdAt} at time zone 'UTC'), 'YYYY-MM-DD')`,
  hour: sql`to_char(date_trunc('hour', ${usageEvents.createdAt} at time zone 'UTC'), 'YYYY-MM-DD"T"HH24":00:00Z"')`,
  model: sql`${usageEvents.model}`,
  provider: sql`${usageEvents.provider}`,
  // What the call's work was (usage/record.ts's MODALITIES); a row without one is text.
  modality: sql`coalesce(${usageEvents.metadata}->>'modality', 'text')`,
  user: sql`${usageEvents.userId}`,
  team: sql`${usageEvents.teamId}`,
  key: sql`${usageEvents.keyId}`,
  app: sql`${usageEvents.appId}`,
  device: sql`${usageEvents.deviceId}`,
  // One verdict of a row's `metadata.guardrails` (src/guardrails), from the lateral join groupUsage adds.
  guardrail: sql`guardrail_verdicts.value->>'guardrail'`,
  guardrail_verdict: sql`(guardrail_verdicts.value->>'phase') || ':' || (guardrail_verdicts.value->>'verdict')`,
  route: sql`${usageEvents.metadata}->>'route_name'`,
  // The route with the arm: two routes' arms of one name are not one arm.
  route_arm: sql`(${usageEvents.metadata}->>'route_name') || '/' || (${usageEvents.metadata}->>'route_arm')`,
};
const GROUP_NAMES: Record<Exclude<Group, "total">, string> = {
  minute: "minute",
  day: "day",
  hour: "hour",
  model: "model",
  provider: "provider",
  modality: "modality",
  user: "user_id",
  team: "team_id",
  key: "key_id",
  app: "app_id",
  device: "device_id",
  guardrail: "guardrail",
  guardrail_verdict: "guardrail_verdict",
  route: "route",
  route_arm: "route_arm",
};

/** A sum of one of `metadata.media`'s numbers (usage/prices.ts's MediaUsage), 0 where rows have none. */
const mediaSum = (path: string) =>
  sql<string>`coalesce(sum(case when jsonb_typeof(${usageEvents.metadata} #> ${`{media,${path}}`}::text[]) = 'number' then (${usageEvents.metadata} #>> ${`{media,${path}}`}::text[])::float8 end), 0)::text`;

/** A row's guardrail verdicts, one joined row each (none for a row no guardrail checked). */
const guardrailVerdicts = sql`jsonb_array_elements(case when jsonb_typeof(${usageEvents.metadata}->'guardrails') = 'array' then ${usageEvents.metadata}->'guardrails' else '[]'::jsonb end) as guardrail_verdicts`;

/** A date (`2026-11-25`, the whole day) or an instant (`2026-11-25T10:00:00Z`). */
const instant = (end: boolean) =>
  z.pipe(
    z.string().check(z.refine((text) => !Number.isNaN(Date.parse(text)), { message: "must be an ISO 8601 date or date-time" })),
    z.transform((text) => {
      const at = new Date(text);
      // A bare date as an end means the end of that day.
      return end && /^\d{4}-\d{2}-\d{2}$/.test(text) ? new Date(at.getTime() + DAY_MS) : at;
    }),
  );

const groups = (allowed: readonly Group[]) =>
  z.pipe(
    z
      .pipe(
        z.string(),
        z.transform((text) => text.split(",").map((part) => part.trim())),
      )
      .check(
        z.refine((parts) => parts.every((part) => (allowed as readonly string[]).includes(part)), {
          message: `must be one or more of ${allowed.join(", ")}, separated by commas`,
        }),
      ),
    z.transform((parts) => [...new Set(parts)] as Group[]),
  );

const common = {
  from: z.optional(instant(false)),
  to: z.optional(instant(true)),
  model: z.optional(z.string().check(z.minLength(1))),
  provider: z.optional(z.string().check(z.minLength(1))),
  limit: z.optional(
    z.coerce
      .number({ message: "must be a number" })
      .check(
        z.int({ message: "must be a whole number" }),
        z.gte(1, { message: "must be at least 1" }),
        z.lte(MAX_PAGE, { message: `must be at most ${MAX_PAGE}` }),
      ),
  ),
  cursor: z.optional(z.string()),
};

export const ownUsageQuery = z.object({ ...common, group_by: z.optional(groups(OWN_GROUPS)) });

export const adminUsageQuery = z.object({
  ...common,
  group_by: z.optional(groups(ADMIN_GROUPS)),
  user_id: z.optional(z.string().check(z.minLength(1))),
  team_id: z.optional(z.string().check(z.minLength(1))),
  key_id: z.optional(z.string().check(z.minLength(1))),
  app_id: z.optional(z.string().check(z.minLength(1))),
  device_id: z.optional(z.string().check(z.minLength(1))),
  request_id: z.optional(z.string().check(z.minLength(1))),
  status: z.optional(z.coerce.number({ message: "must be a number" }).check(z.int({ message: "must be a whole number" }))),
  format: z.optional(z.enum(["json", "csv"], { message: "must be json or csv" })),
});

export type UsageFilters = z.infer<typeof adminUsageQuery> & { metadata?: Record<string, string> };

interface Cursor {
  at: string;
  id: number;
}

const encodeCursor = (cursor: Cursor) => btoa(`${cursor.at}|${cursor.id}`).replaceAll("=", "");

/** An instant as `next_cursor` writes it (`toISOString`), and a row id Postgres's bigint and a JS number both hold. */
const CURSOR_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const CURSOR_ID = /^[1-9]\d{0,15}$/;

function decodeCursor(text: string): Cursor {
  try {
    const [at = "", id = "", ...rest] = atob(text).split("|");
    const instant = Date.parse(at);
    if (rest.length === 0 && CURSOR_AT.test(at) && !Number.isNaN(instant) && CURSOR_ID.test(id)) {
      const row = Number(id);
      if (Number.isSafeInteger(row) && new Date(instant).toISOString() === at) return { at, id: row };
    }
  } catch {
    // falls through to the refusal
  }
  throw badRequest("Invalid `cursor`: pass back the `next_cursor` of the previous page.", "cursor");
}

/** The window the query reads: `to` (now by default) and `from` (30 days before it), at most a year apart. */
function windowOf(filters: UsageFilters, now: Date): { from: Date; to: Date } {
  const to = filters.to ?? now;
  const from = filters.from ?? new Date(to.getTime() - DEFAULT_SPAN_DAYS * DAY_MS);
  if (from >= to) throw badRequest("Invalid `from`: must be before `to`.", "from");
  if (to.getTime() - from.getTime() > MAX_SPAN_DAYS * DAY_MS)
    throw badRequest(`Invalid \`from\`: a query spans at most ${MAX_SPAN_DAYS} days.`, "from");
  return { from, to };
}

function conditions(scope: SQL | undefined, filters: UsageFilters, now: Date): SQL[] {
  const { from, to } = windowOf(filters, now);
  const where: (SQL | undefined)[] = [
    scope,
    sql`${usageEvents.createdAt} >= ${from.toISOString()}`,
    sql`${usageEvents.createdAt} < ${to.toISOString()}`,
    filters.model ? eq(usageEvents.model, filters.model) : undefined,
    filters.provider ? eq(usageEvents.provider, filters.provider) : undefined,
    filters.user_id ? eq(usageEvents.userId, filters.user_id) : undefined,
    filters.team_id ? eq(usageEvents.teamId, filters.team_id) : undefined,
    filters.key_id ? eq(usageEvents.keyId, filters.key_id) : undefined,
    filters.app_id ? eq(usageEvents.appId, filters.app_id) : undefined,
    filters.device_id ? eq(usageEvents.deviceId, filters.device_id) : undefined,
    filters.request_id ? eq(usageEvents.requestId, filters.request_id) : undefined,
    filters.status !== undefined ? eq(usageEvents.status, filters.status) : undefined,
    ...Object.entries(filters.metadata ?? {}).map(
      ([field, value]) => sql`${usageEvents.metadata} @> ${JSON.stringify({ [field]: value })}::jsonb`,
    ),
  ];
  return where.filter((condition): condition is SQL => condition !== undefined);
}

export interface UsageRowView {
  request_id: string;
  created_at: string;
  model: string;
  provider: string;
  upstream_model: string | null;
  user_id: string | null;
  key_id: string | null;
  team_id: string | null;
  app_id: string | null;
  device_id: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cache_write_tokens: number;
  cost_usd: number;
  status: number;
  error: string | null;
  streamed: boolean;
  latency_ms: number;
  ttfb_ms: number | null;
  attempts: number;
  usage_estimated: boolean;
  /** Answered from the response cache: no upstream call. */
  cache_hit: boolean;
  metadata: Record<string, unknown>;
}

type LedgerRow = typeof usageEvents.$inferSelect;

export function rowView(row: LedgerRow): UsageRowView {
  const { usage_estimated: estimated, cache_hit: cacheHit, ...metadata } = row.metadata as Record<string, unknown>;
  return {
    request_id: row.requestId,
    created_at: row.createdAt.toISOString(),
    model: row.model,
    provider: row.provider,
    upstream_model: row.upstreamModel,
    user_id: row.userId,
    key_id: row.keyId,
    team_id: row.teamId,
    app_id: row.appId,
    device_id: row.deviceId,
    prompt_tokens: row.promptTokens,
    completion_tokens: row.completionTokens,
    cached_tokens: row.cachedTokens,
    cache_write_tokens: row.cacheWriteTokens,
    cost_usd: row.costUsd,
    status: row.status,
    error: row.error,
    streamed: row.streamed,
    latency_ms: row.latencyMs,
    ttfb_ms: row.ttfbMs,
    attempts: row.attempts,
    usage_estimated: estimated === true,
    cache_hit: cacheHit === true,
    metadata,
  };
}

/** One page of rows, newest first, and the cursor of the next (null on the last). */
export async function listUsage(
  db: Database,
  scope: SQL | undefined,
  filters: UsageFilters,
  now = new Date(),
): Promise<{ data: UsageRowView[]; next_cursor: string | null }> {
  const limit = filters.limit ?? DEFAULT_PAGE;
  const where = conditions(scope, filters, now);
  if (filters.cursor) {
    const cursor = decodeCursor(filters.cursor);
    const at = sql`${cursor.at}::timestamptz`;
    const before = or(lt(usageEvents.createdAt, at), and(eq(usageEvents.createdAt, at), lt(usageEvents.id, cursor.id)));
    if (before) where.push(before);
  }
  const rows = await db
    .select()
    .from(usageEvents)
    .where(and(...where))
    .orderBy(desc(usageEvents.createdAt), desc(usageEvents.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const next = rows.length > limit && last ? encodeCursor({ at: last.createdAt.toISOString(), id: last.id }) : null;
  return { data: page.map(rowView), next_cursor: next };
}

export type UsageGroupView = Record<string, string | number | null>;

const millis = (value: string | null) => (value === null ? null : Math.round(Number(value)));

/** Totals per group (requests, tokens, spend, errors, latency and time-to-first-byte percentiles, media units), in group order. */
export async function groupUsage(
  db: Database,
  scope: SQL | undefined,
  filters: UsageFilters & { group_by: Group[] },
  now = new Date(),
): Promise<{ data: UsageGroupView[] }> {
  const groups = filters.group_by.filter((group): group is Exclude<Group, "total"> => group !== "total");
  if (groups.includes("minute")) {
    const { from, to } = windowOf(filters, now);
    if (to.getTime() - from.getTime() > DAY_MS)
      throw badRequest("Invalid query parameter `group_by`: `minute` is for windows of a day at most.", "group_by");
  }
  const keys = Object.fromEntries(groups.map((group) => [GROUP_NAMES[group], GROUP_COLUMNS[group]]));
  const query = db
    .select({
      ...Object.fromEntries(Object.entries(keys).map(([name, column]) => [name, sql<string | null>`${column}`])),
      requests: sql<string>`count(*)::text`,
      prompt_tokens: sql<string>`coalesce(sum(${usageEvents.promptTokens}), 0)::text`,
      completion_tokens: sql<string>`coalesce(sum(${usageEvents.completionTokens}), 0)::text`,
      cached_tokens: sql<string>`coalesce(sum(${usageEvents.cachedTokens}), 0)::text`,
      cache_write_tokens: sql<string>`coalesce(sum(${usageEvents.cacheWriteTokens}), 0)::text`,
      cost_usd: sql<string>`coalesce(sum(${usageEvents.costUsd}), 0)::text`,
      errors: sql<string>`count(*) filter (where ${usageEvents.status} >= 400)::text`,
      p50_latency_ms: sql<string | null>`percentile_cont(0.5) within group (order by ${usageEvents.latencyMs})::text`,
      p95_latency_ms: sql<string | null>`percentile_cont(0.95) within group (order by ${usageEvents.latencyMs})::text`,
      p50_ttfb_ms: sql<string | null>`percentile_cont(0.5) within group (order by ${usageEvents.ttfbMs})::text`,
      p95_ttfb_ms: sql<string | null>`percentile_cont(0.95) within group (order by ${usageEvents.ttfbMs})::text`,
      audio_seconds: mediaSum("audioSeconds"),
      characters: mediaSum("characters"),
      images: mediaSum("images,count"),
    })
    .from(usageEvents)
    .$dynamic();
  // Grouped by guardrail, a row counts once for each verdict it carries.
  const byGuardrail = groups.includes("guardrail") || groups.includes("guardrail_verdict");
  const rows = await (byGuardrail ? query.leftJoinLateral(guardrailVerdicts, sql`true`) : query)
    .where(and(...conditions(scope, filters, now)))
    .groupBy(...Object.values(keys))
    .orderBy(...groups.map((group) => sql`${GROUP_COLUMNS[group]} nulls last`));
  return {
    data: rows.map((row) => {
      const out: UsageGroupView = {};
      for (const name of Object.keys(keys)) out[name] = (row as Record<string, string | null>)[name] ?? null;
      const prompt = Number(row.prompt_tokens);
      const completion = Number(row.completion_tokens);
      Object.assign(out, {
        requests: Number(row.requests),
        prompt_tokens: prompt,
        completion_tokens: completion,
        cached_tokens: Number(row.cached_tokens),
        cache_write_tokens: Number(row.cache_write_tokens),
        total_tokens: prompt + completion,
        cost_usd: Number(row.cost_usd),
        errors: Number(row.errors),
        p50_latency_ms: millis(row.p50_latency_ms),
        p95_latency_ms: millis(row.p95_latency_ms),
        p50_ttfb_ms: millis(row.p50_ttfb_ms),
        p95_ttfb_ms: millis(row.p95_ttfb_ms),
        // What media calls used beyond tokens: seconds of audio heard, characters spoken, images drawn.
        audio_seconds: Number(row.audio_seconds),
        characters: Number(row.characters),
        images: Number(row.images),
      });
      return out;
    }),
  };
}

/**
 * A text cell a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, a
 * tab or a carriage return first) gets a leading `'`, as OWASP advises:
 * model names, user ids and metadata come from callers. Numbers stay numbers.
 */
const neutralised = (text: string) => (/^[=+\-@\t\r]/.test(text) ? `'${text}` : text);

/** Rows or totals as CSV: a header, then one line each; fields quoted where they need it. */
export function toCsv(rows: Record<string, unknown>[], columns?: string[]): string {
  const header = columns ?? Object.keys(rows[0] ?? {});
  const cell = (value: unknown) => {
    if (value === null || value === undefined) return "";
    const text =
      typeof value === "number" || typeof value === "boolean"
        ? String(value)
        : neutralised(typeof value === "object" ? JSON.stringify(value) : String(value));
    return /[",\r\n\t]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  return `${[header.join(","), ...rows.map((row) => header.map((name) => cell(row[name])).join(","))].join("\r\n")}\r\n`;
}
