// The cron's drain of records parked while Postgres was unreachable. Records
// are read, written, and only then removed from the list, so a drain that is
// cut off loses nothing (the insert skips what it already wrote); one drain
// at a time holds a lock; each round writes a batch in one insert.
import type { Services } from "../services.ts";
import type { UsageRecord } from "./record.ts";
import { insertUsage, PARKED_USAGE_KEY, writeRecords } from "./writer.ts";

const LOCK_KEY = "sluice:usage:drain-lock";
const BATCH = 200;

/** Moves parked records into the ledger for up to `budgetMs`; returns how many left the list (written, or set aside as dead). */
export async function drainParkedUsage(services: Services, budgetMs = 20_000): Promise<number> {
  const { redis } = services;
  const token = crypto.randomUUID();
  if ((await redis.set(LOCK_KEY, token, { nx: true, px: budgetMs + 10_000 })) !== "OK") return 0;
  const until = Date.now() + budgetMs;
  let written = 0;
  try {
    while (Date.now() < until) {
      const raw = await redis.lrange<UsageRecord | string>(PARKED_USAGE_KEY, 0, BATCH - 1);
      if (raw.length === 0) break;
      const records = raw.map((item) => (typeof item === "string" ? (JSON.parse(item) as UsageRecord) : item));
      try {
        await insertUsage(services, records);
      } catch {
        // Postgres still down, or a record it refuses: writeRecords sets refused ones aside and
        // re-parks the rest at the tail; either way they leave the head of the list.
        const before = await redis.llen(PARKED_USAGE_KEY);
        await writeRecords(services, records);
        const reparked = (await redis.llen(PARKED_USAGE_KEY)) - before;
        await redis.ltrim(PARKED_USAGE_KEY, raw.length, -1);
        if (reparked > 0) break;
        written += raw.length;
        continue;
      }
      await redis.ltrim(PARKED_USAGE_KEY, raw.length, -1);
      written += raw.length;
    }
  } finally {
    if ((await redis.get(LOCK_KEY)) === token) await redis.del(LOCK_KEY);
  }
  return written;
}
