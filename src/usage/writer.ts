// Writes usage records to the Postgres ledger after the response, retrying;
// a record that still fails is parked in Redis and drained by the cron.
import type { Redis } from "@upstash/redis/cloudflare";
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
    userId: null,
    keyId: null,
    teamId: null,
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

/** The ledger row and its billing outbox entry, in one transaction; a repeat is a no-op. */
async function insertUsage(services: Services, record: UsageRecord): Promise<void> {
  const row = ledgerRow(record);
  await services.db.batch([
    services.db.insert(usageEvents).values(row).onConflictDoNothing({ target: usageEvents.requestId }),
    services.db
      .insert(billingOutbox)
      .values({ requestId: record.requestId, payload: { ...row } })
      .onConflictDoNothing({ target: billingOutbox.requestId }),
  ]);
}

async function park(redis: Redis, record: UsageRecord): Promise<void> {
  await redis.rpush(PARKED_USAGE_KEY, JSON.stringify(record));
}

/** Never throws: a record is written, or parked, or (both stores down) logged whole for recovery. */
export async function writeUsage(services: Services, record: UsageRecord): Promise<void> {
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    try {
      await insertUsage(services, record);
      return;
    } catch (error) {
      if (attempt === ATTEMPTS) {
        console.error(`sluice: usage write failed for ${record.requestId}: ${String(error)}`);
      } else {
        await wait(50 * 2 ** attempt);
      }
    }
  }
  try {
    await park(services.redis, record);
  } catch (error) {
    console.error(`sluice: usage record could not be parked: ${String(error)} ${JSON.stringify(record)}`);
  }
}

/** Moves parked records into the ledger; returns how many were written. */
export async function drainParkedUsage(services: Services, limit = 500): Promise<number> {
  let written = 0;
  for (; written < limit; written++) {
    const raw = await services.redis.lpop<UsageRecord | string>(PARKED_USAGE_KEY);
    if (raw === null) break;
    const record = typeof raw === "string" ? (JSON.parse(raw) as UsageRecord) : raw;
    try {
      await insertUsage(services, record);
    } catch (error) {
      await services.redis.lpush(PARKED_USAGE_KEY, JSON.stringify(record));
      console.error(`sluice: parked usage still cannot be written: ${String(error)}`);
      break;
    }
  }
  return written;
}
