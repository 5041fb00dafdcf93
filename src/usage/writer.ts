// Writes usage records to the Postgres ledger after the response, in small
// batches, retrying; records that still fail are parked in Redis and drained
// by the cron.
import type { Redis } from "@upstash/redis/cloudflare";
import { principalKeyId, principalTeamId, principalUserId } from "../auth/principal.ts";
import { billingOutbox, usageEvents } from "../db/schema.ts";
import type { Services } from "../services.ts";
import type { UsageRecord } from "./record.ts";

export const PARKED_USAGE_KEY = "sluice:usage:parked";
const ATTEMPTS = 3;
const BATCH_MAX = 50;
const BATCH_WAIT_MS = 10;
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

interface OpenBatch {
  records: UsageRecord[];
  /** One resolver per record; each request waits on a promise of its own making. */
  waiters: (() => void)[];
  flush: () => void;
}

const openBatches = new WeakMap<Services, OpenBatch>();

/**
 * Queues a record for the ledger; records arriving within a few milliseconds
 * of each other share one insert. The promise settles when this record's
 * batch is written (or parked), so `waitUntil` on it keeps the isolate alive
 * until then.
 */
export function writeUsage(services: Services, record: UsageRecord): Promise<void> {
  let batch = openBatches.get(services);
  if (!batch) {
    const open: OpenBatch = {
      records: [],
      waiters: [],
      flush: () => {
        clearTimeout(timer);
        if (openBatches.get(services) === open) openBatches.delete(services);
        writeBatch(services, open.records).then(() => {
          for (const release of open.waiters) release();
        });
      },
    };
    const timer = setTimeout(() => open.flush(), BATCH_WAIT_MS);
    openBatches.set(services, open);
    batch = open;
  }
  const joined = batch;
  joined.records.push(record);
  const written = new Promise<void>((resolve) => joined.waiters.push(resolve));
  if (joined.records.length >= BATCH_MAX) joined.flush();
  return written;
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
