// The Worker entry: HTTP requests through the Hono app, the usage queue's
// consumer (and its dead-letter queue's), and a cron that drains usage
// records parked while Postgres was unreachable.
import { createApp } from "./app.ts";
import { configFor, type Env } from "./config/index.ts";
import { servicesFor } from "./services.ts";
import { drainParkedUsage } from "./usage/drain.ts";
import { consumeDeadLetters, consumeUsage } from "./usage/queue.ts";
import type { UsageMessage } from "./usage/record.ts";

const app = createApp();

export default {
  fetch: app.fetch,
  async queue(batch: MessageBatch<UsageMessage>, env: Env): Promise<void> {
    const services = servicesFor(configFor(env), env);
    if (batch.queue.endsWith("-dlq")) await consumeDeadLetters(batch, services);
    else await consumeUsage(batch, services);
  },
  async scheduled(_controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
    const services = servicesFor(configFor(env), env);
    ctx.waitUntil(
      drainParkedUsage(services).then((count) => count > 0 && console.log(`sluice: drained ${count} parked usage records`)),
    );
  },
} satisfies ExportedHandler<Env, UsageMessage>;
