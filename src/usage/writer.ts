// Gets usage records into the Postgres ledger after the response. With a
// queue bound (USAGE_QUEUE), a record is sent to it and the consumer
// (usage/queue.ts) writes whole batches; without one, the isolate's requests
// write theirs together, in one insert per flush. A record Postgres cannot
// take for now is parked in Redis and drained by the cron; one it refuses
// outright (bad data) is set aside as dead, where an operator can see it.
import type { Redis } from "@upstash/redis/cloudflare";
import { sql } from "drizzle-orm";
import { billingOutbox, usageEvents } from "../db/schema.ts";
import { IsolateBatch } from "../isolate-batch.ts";
import { reason } from "../log.ts";
import type { Services } from "../services.ts";
import { afterWrite } from "./after-write.ts";
import type { UsageQueue, UsageRecord } from "./record.ts";

export const PARKED_USAGE_KEY = "sluice:usage:parked";
export const DEAD_USAGE_KEY = "sluice:usage:dead";
const ATTEMPTS = 3;
/** How long a batch of records stays open for others to join. */
const GATHER_MS = 25;
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A record as a ledger row, in the columns' names: also the billing outbox's payload. */
export function ledgerRow(record: UsageRecord) {
  return {
    request_id: record.requestId,
    principal_type: record.principalType,
    principal_id: record.principalId,
    user_id: record.userId,
    key_id: record.keyId,
    team_id: record.teamId,
    provider: record.provider,
    model: record.model,
    upstream_model: record.upstreamModel,
    client_format: record.clientFormat,
    prompt_tokens: record.promptTokens,
    completion_tokens: record.completionTokens,
    cached_tokens: record.cachedTokens,
    // A record queued before the column existed has none.
    cache_write_tokens: record.cacheWriteTokens ?? 0,
    cost_usd: record.costUsd,
    latency_ms: Math.round(record.latencyMs),
    ttfb_ms: record.ttfbMs === null ? null : Math.round(record.ttfbMs),
    status: record.status,
    // An upstream's words, which may hold a NUL that Postgres's text will not take.
    error: record.error?.replaceAll("\u0000", "") ?? null,
    streamed: record.streamed,
    attempts: record.attempts,
    metadata: record.metadata,
    created_at: new Date(record.createdAt).toISOString(),
  };
}

/** The ledger's columns and their types, as the rows' JSON is read back into a record set. */
const LEDGER_COLUMNS = sql.raw(
  [
    "request_id text",
    "principal_type text",
    "principal_id text",
    "user_id text",
    "key_id text",
    "team_id text",
    "provider text",
    "model text",
    "upstream_model text",
    "client_format text",
    "prompt_tokens integer",
    "completion_tokens integer",
    "cached_tokens integer",
    "cache_write_tokens integer",
    "cost_usd double precision",
    "latency_ms integer",
    "ttfb_ms integer",
    "status integer",
    "error text",
    "streamed boolean",
    "attempts integer",
    "metadata jsonb",
    "created_at timestamptz",
  ].join(", "),
);
const LEDGER_NAMES = sql.raw(
  "request_id, principal_type, principal_id, user_id, key_id, team_id, provider, model, upstream_model, client_format, " +
    "prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, cost_usd, latency_ms, ttfb_ms, status, error, streamed, attempts, metadata, created_at",
);

/**
 * Ledger rows and their billing outbox entries in one statement, so both land
 * or neither does; the rows travel as one JSON parameter, however many there
 * are. A record already written is skipped, so retries are safe.
 */
export async function insertUsage(services: Services, records: UsageRecord[]): Promise<void> {
  if (records.length === 0) return;
  const rows = JSON.stringify(records.map(ledgerRow));
  await services.db.execute(sql`
    with rows as (select * from jsonb_to_recordset(${rows}::jsonb) as r(${LEDGER_COLUMNS})),
    ledger as (
      insert into ${usageEvents} (${LEDGER_NAMES}) select ${LEDGER_NAMES} from rows
      on conflict (request_id) do nothing
    )
    insert into ${billingOutbox} (request_id, payload, created_at)
    select rows.request_id, to_jsonb(rows), rows.created_at from rows
    on conflict (request_id) do nothing`);
}

/** Postgres answered and refused the data itself (a constraint, an invalid value): retrying will not help. */
export function refusedByPostgres(error: unknown): boolean {
  // Drizzle wraps the driver's error, which carries Postgres's SQLSTATE.
  let cause = error;
  for (let depth = 0; cause && depth < 5; depth++, cause = (cause as { cause?: unknown }).cause) {
    const code = (cause as { code?: unknown }).code;
    // Class 22 (data exception) and 23 (integrity constraint violation).
    if (typeof code === "string" && /^2[23]/.test(code)) return true;
  }
  return false;
}

async function setAside(redis: Redis, key: string, records: UsageRecord[]): Promise<void> {
  const [first, ...rest] = records.map((record) => JSON.stringify(record));
  if (first !== undefined) await redis.rpush(key, first, ...rest);
}

/**
 * Writes records, retrying a failing insert; never throws. A batch Postgres
 * refuses is split, so one bad record does not hold up the others: the bad
 * one is set aside as dead, the rest are written. Records that still cannot
 * be written are parked (or, with Redis down too, logged whole for recovery).
 */
export async function writeRecords(services: Services, records: UsageRecord[]): Promise<void> {
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    try {
      await insertUsage(services, records);
      return;
    } catch (error) {
      if (refusedByPostgres(error)) {
        if (records.length > 1) {
          for (const record of records) await writeRecords(services, [record]);
          return;
        }
        console.error(`sluice: Postgres refused usage record ${records[0]?.requestId}: ${reason(error)}`);
        await setAside(services.redis, DEAD_USAGE_KEY, records).catch((parkError: unknown) =>
          console.error(`sluice: dead usage record could not be kept: ${reason(parkError)} ${JSON.stringify(records)}`),
        );
        return;
      }
      if (attempt === ATTEMPTS) console.error(`sluice: usage write failed for ${records.length} records: ${reason(error)}`);
      else await wait(50 * 2 ** attempt);
    }
  }
  try {
    await setAside(services.redis, PARKED_USAGE_KEY, records);
  } catch (error) {
    console.error(`sluice: usage records could not be parked: ${reason(error)} ${JSON.stringify(records)}`);
  }
}

/** Records per queue message: well inside a message's 128 KB. */
const RECORDS_PER_MESSAGE = 100;

/** Sends records to the usage queue, many to a message; what the queue will not take is written directly. */
async function enqueue(services: Services, queue: UsageQueue, records: UsageRecord[]): Promise<void> {
  for (let i = 0; i < records.length; i += RECORDS_PER_MESSAGE) {
    const part = records.slice(i, i + RECORDS_PER_MESSAGE);
    try {
      await queue.send(part, { contentType: "v8" });
    } catch (error) {
      console.warn(`sluice: the usage queue refused ${part.length} records, writing them directly: ${reason(error)}`);
      await writeRecords(services, part);
    }
  }
}

const batches = new WeakMap<Services, IsolateBatch<UsageRecord>>();

/**
 * Gets one request's record on its way to the ledger, together with the
 * records of the isolate's other requests: sent to the queue when one is
 * bound, else written in one insert. The caller passes the promise to
 * `waitUntil`: the request that opened the batch waits until the batch is
 * queued, written or parked; the others, whose records it carries, do not.
 */
export function writeUsage(services: Services, record: UsageRecord): Promise<void> {
  let batch = batches.get(services);
  if (!batch) {
    const queue = services.usageQueue;
    const write = async (records: UsageRecord[]) => {
      await writeRecords(services, records);
      await afterWrite(services, records);
    };
    batch = new IsolateBatch((records) => (queue ? enqueue(services, queue, records) : write(records)), {
      gatherMs: GATHER_MS,
      waitForFlush: false,
    });
    batches.set(services, batch);
  }
  return batch.add(record);
}
