// What runs the billing outbox's next delivery pass after a failure, without
// waiting for traffic or the cron: a message on the billing queue, delayed by
// the failed batch's backoff, whose consumer (this Worker) runs the pass. A
// short-lived Redis marker holds the time of the wake-up already asked for, so
// a burst of failures asks for one. A pass run by a wake-up (or the cron) asks
// for the next when rows are still waiting, so the chain lasts as long as they
// do; the cron restarts it if a wake-up is ever lost.
import { sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { reason } from "../log.ts";
import type { Services } from "../services.ts";
import type { BillingWake } from "./billing-queue.ts";
import { deliverOutbox, RETRY_CAP_SECONDS } from "./webhooks.ts";

const isBillingWake = (body: unknown): body is BillingWake =>
  typeof body === "object" && body !== null && (body as { kind?: unknown }).kind === "billing.wake";

/** A batch from the billing queue, told apart from the usage queue's by what its messages are. */
export const isWakeBatch = (batch: MessageBatch<unknown>): batch is MessageBatch<BillingWake> =>
  batch.messages.length > 0 && batch.messages.every((message) => isBillingWake(message.body));

export const WAKE_MARKER_KEY = "sluice:billing:wake";
/** A wake-up already asked for, due no later than this after the one wanted, serves for both. */
const WAKE_SLACK_MS = 2000;
/** Queues hold a message back 12 hours at most. */
const MAX_DELAY_SECONDS = 43_200;

// KEYS[1]: the marker. ARGV: the time wanted, now, the slack, the marker's lifetime (ms).
// 1: the marker now names the time wanted, and the caller sends the wake-up; 0: one still to come serves.
const MARK_WAKE = `
local marked = tonumber(redis.call('GET', KEYS[1]) or '0')
if marked > tonumber(ARGV[2]) and marked <= tonumber(ARGV[1]) + tonumber(ARGV[3]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[4])
return 1`;

/** Asks for a delivery pass at `at` (ms since the epoch), unless a wake-up already asked for comes by then. */
export async function scheduleWake(services: Services, at: number): Promise<void> {
  const queue = services.billingQueue;
  // Without the queue, the cron runs the next pass.
  if (!queue) return;
  const now = Date.now();
  const delaySeconds = Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil((at - now) / 1000)));
  const wanted = now + delaySeconds * 1000;
  const lifetime = delaySeconds * 1000 + 60_000;
  const marked = await services.redis.eval(MARK_WAKE, [WAKE_MARKER_KEY], [wanted, now, WAKE_SLACK_MS, lifetime]);
  if (Number(marked) !== 1) return;
  try {
    await queue.send({ kind: "billing.wake", at: wanted }, { delaySeconds });
  } catch (error) {
    // No wake-up is coming: the marker must not tell others that one is.
    await services.redis.del(WAKE_MARKER_KEY);
    throw error;
  }
}

/** When the first waiting row may be tried (one a pass holds: when its hold ends); undefined when none waits. */
async function nextDue(db: Database): Promise<number | undefined> {
  const result = await db.execute(sql`
    select extract(epoch from min(greatest(next_attempt_at, coalesce(claimed_until, next_attempt_at)))) * 1000 as at
    from (
      select next_attempt_at, claimed_until from billing_outbox
      where sent_at is null and dead_at is null
      order by next_attempt_at, id
      limit 1000
    ) waiting`);
  const at = (result.rows[0] as { at: string | number | null } | undefined)?.at;
  return at === null || at === undefined ? undefined : Number(at);
}

/**
 * Per isolate: until when the receiver is known to be failing (its last pass
 * here failed). Passes that new records start wait it out, since a wake-up is
 * coming then; a burst during an outage costs the receiver one request, not one
 * per batch.
 */
const failingUntilCache = new WeakMap<Services, number>();

export interface PassOptions {
  /** Only these rows (a replay). */
  requestIds?: string[];
  /** After the pass, ask for the next one while any row still waits (a wake-up's or the cron's pass). */
  followUp?: boolean;
}

/**
 * A delivery pass of the billing outbox, then the wake-up for the next when
 * one is needed: a failed batch's backoff, a backlog larger than one pass, or
 * (with `followUp`) the first row still waiting. Logs rather than throws;
 * false when the pass itself could not run.
 */
export async function deliverBilling(services: Services, options: PassOptions = {}): Promise<boolean> {
  const target = services.webhooks.billing;
  if (!target) return true;
  const triggered = !options.followUp && !options.requestIds;
  if (triggered && (failingUntilCache.get(services) ?? 0) > Date.now()) return true;
  let next: number | undefined;
  try {
    const run = await deliverOutbox(services.db, target, options.requestIds);
    if (run.failed > 0) console.warn(`sluice: billing webhook: ${run.failed} records not delivered, retrying later`);
    if (run.retryAt !== undefined) failingUntilCache.set(services, run.retryAt);
    else if (run.sent > 0) failingUntilCache.delete(services);
    if (run.retryAt !== undefined) next = run.retryAt;
    else if (run.more) next = Date.now();
    else if (options.followUp) {
      const due = await nextDue(services.db);
      // At least a second on: a row due now that this pass could not take is not worth a tight loop.
      if (due !== undefined) next = Math.max(due, Date.now() + 1000);
    }
  } catch (error) {
    console.error(`sluice: billing outbox delivery failed: ${reason(error)}`);
    return false;
  }
  if (next === undefined) return true;
  try {
    await scheduleWake(services, next);
  } catch (error) {
    console.error(`sluice: billing webhook: no wake-up scheduled, the cron will run the next pass: ${reason(error)}`);
  }
  return true;
}

/** The billing queue's consumer: one delivery pass for the batch, however many wake-ups it holds. */
export async function consumeBillingWakes(batch: MessageBatch<BillingWake>, services: Services): Promise<void> {
  if (await deliverBilling(services, { followUp: true })) batch.ackAll();
  else batch.retryAll({ delaySeconds: RETRY_CAP_SECONDS });
}
