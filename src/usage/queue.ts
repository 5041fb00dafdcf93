// The usage queue's consumer: a batch of records becomes one insert. Postgres
// unreachable: the batch is retried with backoff, and records that run out of
// retries go to the dead-letter queue, whose consumer parks them in Redis for
// the cron to drain. A record Postgres refuses outright is set aside as dead
// at once, so it never holds up the records around it.

import { reason } from "../log.ts";
import type { Services } from "../services.ts";
import { afterWrite } from "./after-write.ts";
import type { UsageMessage } from "./record.ts";
import { insertUsage, PARKED_USAGE_KEY, refusedByPostgres, writeRecords } from "./writer.ts";

/** Seconds before the n-th retry: 5, 10, 20… up to 5 minutes. */
const retryDelay = (attempts: number) => Math.min(300, 5 * 2 ** Math.max(0, attempts - 1));

export async function consumeUsage(batch: MessageBatch<UsageMessage>, services: Services): Promise<void> {
  const records = batch.messages.flatMap((message) => message.body);
  try {
    await insertUsage(services, records);
    batch.ackAll();
  } catch (error) {
    if (!refusedByPostgres(error)) {
      console.warn(`sluice: usage batch of ${records.length} records not written, retrying: ${reason(error)}`);
      for (const message of batch.messages) message.retry({ delaySeconds: retryDelay(message.attempts) });
      return;
    }
    // A record in the batch is bad: the good ones are written, the bad ones set aside.
    await writeRecords(services, records);
    batch.ackAll();
  }
  // The batch's outbox rows go to the billing webhook now, not at the next cron; its subjects' limits are checked.
  await afterWrite(services, records);
}

/** Records the queue could not deliver: parked in Redis, where the cron drains them into the ledger. */
export async function consumeDeadLetters(batch: MessageBatch<UsageMessage>, services: Services): Promise<void> {
  const [first, ...rest] = batch.messages.flatMap((message) => message.body.map((record) => JSON.stringify(record)));
  if (first === undefined) return;
  try {
    await services.redis.rpush(PARKED_USAGE_KEY, first, ...rest);
    console.warn(`sluice: ${rest.length + 1} usage records parked after the queue's retries ran out`);
    batch.ackAll();
  } catch (error) {
    console.error(`sluice: dead-lettered usage records could not be parked: ${reason(error)}`);
    batch.retryAll({ delaySeconds: 60 });
  }
}
