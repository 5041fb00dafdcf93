// The usage queue's consumer: a batch of records becomes one insert. Postgres
// unreachable: the batch is retried with backoff, and records that run out of
// retries go to the dead-letter queue, whose consumer parks them in Redis for
// the cron to drain. A record Postgres refuses outright is set aside as dead
// at once, so it never holds up the records around it.
import type { Services } from "../services.ts";
import type { UsageRecord } from "./record.ts";
import { insertUsage, PARKED_USAGE_KEY, refusedByPostgres, writeRecords } from "./writer.ts";

/** Seconds before the n-th retry: 5, 10, 20… up to 5 minutes. */
const retryDelay = (attempts: number) => Math.min(300, 5 * 2 ** Math.max(0, attempts - 1));

export async function consumeUsage(batch: MessageBatch<UsageRecord>, services: Services): Promise<void> {
  try {
    await insertUsage(
      services,
      batch.messages.map((message) => message.body),
    );
    batch.ackAll();
  } catch (error) {
    if (refusedByPostgres(error)) {
      // One record in the batch is bad: each is written on its own, the bad ones set aside.
      for (const message of batch.messages) await writeRecords(services, [message.body]);
      batch.ackAll();
      return;
    }
    console.warn(`sluice: usage batch of ${batch.messages.length} not written, retrying: ${String(error)}`);
    for (const message of batch.messages) message.retry({ delaySeconds: retryDelay(message.attempts) });
  }
}

/** Records the queue could not deliver: parked in Redis, where the cron drains them into the ledger. */
export async function consumeDeadLetters(batch: MessageBatch<UsageRecord>, services: Services): Promise<void> {
  const [first, ...rest] = batch.messages.map((message) => JSON.stringify(message.body));
  if (first === undefined) return;
  try {
    await services.redis.rpush(PARKED_USAGE_KEY, first, ...rest);
    console.warn(`sluice: ${batch.messages.length} usage records parked after the queue's retries ran out`);
    batch.ackAll();
  } catch (error) {
    console.error(`sluice: dead-lettered usage records could not be parked: ${String(error)}`);
    batch.retryAll({ delaySeconds: 60 });
  }
}
