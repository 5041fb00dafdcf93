// Writes usage records to the Postgres ledger after the response, retrying;
// records that still fail are parked in Redis and drained by the cron.
import type { Redis } from "@upstash/redis/cloudflare";
import { principalKeyId, principalTeamId, principalUserId } from "../auth/principal.ts";
import { billingOutbox, usageEvents } from "../db/schema.ts";
import type { Services } from "../services.ts";
import type { UsageRecord } from "./record.ts";

export const PARKED_USAGE_KEY = "sluice:usage:parked";
const ATTEMPTS = 3;
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function ledgerRow(record: UsageRecord) {
  const principal = record.principal;
  return {
    requestId: record.requestId,
    principalType: principal.type,
    principalId: principal.id,
    userId: principalUserId(principal),
    keyId: principalKeyId(principal),
    teamId: principalTeamId(principal),
    provider: record.provider,
    model: record.model,
    upstreamModel: record.upstreamModel,
    clientFormat: record.clientFormat,
    promptTokens: record.promptTokens,
    completionTokens: record.completionTokens,
    cachedTokens: record.cachedTokens,
    costUsd: record.costUsd,
    latencyMs: Math.round(record.latencyMs),
    ttfbMs: record.ttfbMs === null ? null : Math.round(record.ttfbMs),
    status: record.status,
    error: record.error,
    streamed: record.streamed,
    attempts: record.attempts,
    metadata: record.metadata,
  };
}

/**
 * Ledger rows and their billing outbox entries in one transaction, so both
 * land or neither does; a record already written is skipped, so retries are safe.
 */
async function insertUsage(services: Services, records: UsageRecord[]): Promise<void> {
  const rows = records.map(ledgerRow);
  await services.db.batch([
    services.db.insert(usageEvents).values(rows).onConflictDoNothing({ target: usageEvents.requestId }),
    services.db
      .insert(billingOutbox)
      .values(rows.map((row) => ({ requestId: row.requestId, payload: { ...row } })))
      .onConflictDoNothing({ target: billingOutbox.requestId }),
  ]);
}

async function park(redis: Redis, records: UsageRecord[]): Promise<void> {
  const [first, ...rest] = records.map((record) => JSON.stringify(record));
  if (first !== undefined) await redis.rpush(PARKED_USAGE_KEY, first, ...rest);
}

/** Never throws: records are written, or parked, or (both stores down) logged whole for recovery. */
async function writeBatch(services: Services, records: UsageRecord[]): Promise<void> {
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    try {
      await insertUsage(services, records);
      return;
    } catch (error) {
      if (attempt === ATTEMPTS) {
        console.error(`sluice: usage write failed for ${records.length} records: ${String(error)}`);
      } else {
        await wait(50 * 2 ** attempt);
      }
    }
  }
  try {
    await park(services.redis, records);
  } catch (error) {
    console.error(`sluice: usage records could not be parked: ${String(error)} ${JSON.stringify(records)}`);
  }
}

/**
 * Writes one request's record, after its response (the caller passes this
 * promise to `waitUntil`). Each request writes its own: records shared
 * between requests would have one request's promise settled from another's
 * context, which the Workers runtime does not guarantee to deliver.
 */
export function writeUsage(services: Services, record: UsageRecord): Promise<void> {
  return writeBatch(services, [record]);
}

/** Moves parked records into the ledger; returns how many were written. */
export async function drainParkedUsage(services: Services, limit = 500): Promise<number> {
  let written = 0;
  for (; written < limit; written++) {
    const raw = await services.redis.lpop<UsageRecord | string>(PARKED_USAGE_KEY);
    if (raw === null) break;
    const record = typeof raw === "string" ? (JSON.parse(raw) as UsageRecord) : raw;
    try {
      await insertUsage(services, [record]);
    } catch (error) {
      await services.redis.lpush(PARKED_USAGE_KEY, JSON.stringify(record));
      console.error(`sluice: parked usage still cannot be written: ${String(error)}`);
      break;
    }
  }
  return written;
}
