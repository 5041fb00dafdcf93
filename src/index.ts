// The Worker entry: HTTP requests through the Hono app, the usage queue's
// consumer (and its dead-letter queue's), and a cron that drains usage
// records parked while Postgres was unreachable and retries the billing
// webhook's undelivered batches.
import { createApp } from "./app.ts";
import { configFor, type Env } from "./config/index.ts";
import { reason } from "./log.ts";
import { deleteExpiredLogs } from "./request-logs/index.ts";
import { servicesFor } from "./services.ts";
import { drainParkedUsage } from "./usage/drain.ts";
import { consumeDeadLetters, consumeUsage } from "./usage/queue.ts";
import type { UsageMessage } from "./usage/record.ts";
import { deliverSoon } from "./usage/webhooks.ts";

const app = createApp();

export default {
  fetch: app.fetch,
  async queue(batch: MessageBatch<UsageMessage>, env: Env): Promise<void> {
    const services = servicesFor(configFor(env), env);
    if (batch.queue.endsWith("-dlq")) await consumeDeadLetters(batch, services);
    else await consumeUsage(batch, services);
  },
  async scheduled(_controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
    const config = configFor(env);
    const services = servicesFor(config, env);
    if (env.REQUEST_LOGS) {
      const logs = env.REQUEST_LOGS;
      ctx.waitUntil(
        deleteExpiredLogs(logs, config.requestLogRetentionDays)
          .then((count) => count > 0 && console.log(`sluice: deleted ${count} expired request logs`))
          .catch((error: unknown) => console.error(`sluice: expired request logs not deleted: ${reason(error)}`)),
      );
    }
    ctx.waitUntil(
      drainParkedUsage(services)
        .then((count) => count > 0 && console.log(`sluice: drained ${count} parked usage records`))
        // What the billing webhook has not yet taken: its retries, with backoff.
        .then(() => deliverSoon(services.db, services.webhooks.billing)),
    );
  },
} satisfies ExportedHandler<Env, UsageMessage>;
