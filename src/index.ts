// The Worker entry: HTTP requests through the Hono app, the usage queue's
// consumer (and its dead-letter queue's), the billing queue's (wake-ups for
// the billing webhook's next delivery pass), and a cron that drains usage
// records parked while Postgres was unreachable and, as a backstop, runs a
// delivery pass of the billing webhook's undelivered batches (and pushes
// the metrics as OTLP, when an endpoint is set).

import { createApp } from "./app.ts";
import { configFor, type Env } from "./config/index.ts";
import { reason } from "./log.ts";
import { pushMetrics } from "./metrics/otlp-push.ts";
import { readMetrics } from "./metrics/store.ts";
import { deleteExpiredLogs } from "./request-logs/index.ts";
import { servicesFor } from "./services.ts";
import type { BillingWake } from "./usage/billing-queue.ts";
import { consumeBillingWakes, deliverBilling, isWakeBatch } from "./usage/billing-wake.ts";
import { drainParkedUsage } from "./usage/drain.ts";
import { consumeDeadLetters, consumeUsage } from "./usage/queue.ts";
import type { UsageMessage } from "./usage/record.ts";
import { VERSION } from "./version.ts";

const app = createApp();
// The router compiles its matcher from every route on its first match (a few
// milliseconds): done here, at startup, which the runtime can overlap with the
// client's TLS handshake, rather than in a cold isolate's first request.
app.router.match("GET", "/");

export default {
  fetch: app.fetch,
  async queue(batch: MessageBatch<UsageMessage | BillingWake>, env: Env): Promise<void> {
    const services = servicesFor(configFor(env), env);
    if (isWakeBatch(batch)) await consumeBillingWakes(batch, services);
    else if (batch.queue.endsWith("-dlq")) await consumeDeadLetters(batch as MessageBatch<UsageMessage>, services);
    else await consumeUsage(batch as MessageBatch<UsageMessage>, services);
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
    const otlpMetrics = config.observability.metrics?.otlp;
    if (otlpMetrics) {
      ctx.waitUntil(
        readMetrics(services.redis)
          .then((values) => pushMetrics(otlpMetrics, values, VERSION))
          .catch((error: unknown) => console.warn(`sluice: metrics not pushed: ${reason(error)}`)),
      );
    }
    ctx.waitUntil(
      drainParkedUsage(services)
        .then((count) => count > 0 && console.log(`sluice: drained ${count} parked usage records`))
        // What the billing webhook has not yet taken, and a wake-up for what is still waiting (if none is coming).
        .then(() => deliverBilling(services, { followUp: true })),
    );
  },
} satisfies ExportedHandler<Env, UsageMessage | BillingWake>;
