// The Worker entry: HTTP requests through the Hono app, and a cron that
// drains usage records parked while Postgres was unreachable.
import { createApp } from "./app.ts";
import { configFor, type Env } from "./config/index.ts";
import { servicesFor } from "./services.ts";
import { drainParkedUsage } from "./usage/writer.ts";

const app = createApp();

export default {
  fetch: app.fetch,
  async scheduled(_controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
    const services = servicesFor(configFor(env));
    ctx.waitUntil(
      drainParkedUsage(services).then((count) => count > 0 && console.log(`sluice: drained ${count} parked usage records`)),
    );
  },
} satisfies ExportedHandler<Env>;
