// The clients a request needs, built once per Config (so once per isolate).
import { Redis } from "@upstash/redis/cloudflare";
import type { BillingWebhook, Config, Env, WebhookTarget } from "./config/index.ts";
import { createDatabase, type Database } from "./db/client.ts";
import type { BillingQueue } from "./usage/billing-queue.ts";
import type { UsageQueue } from "./usage/record.ts";

export interface Services {
  db: Database;
  redis: Redis;
  /** Where usage records go to be written in batches; without it, each isolate writes its own. */
  usageQueue?: UsageQueue;
  /** Where the billing outbox is delivered, and limit alerts announced. */
  webhooks: { billing?: BillingWebhook; alerts?: WebhookTarget };
  /** Where a failed billing delivery asks for the next pass to run, after its backoff; without it, the cron runs it. */
  billingQueue?: BillingQueue;
  /** The time zone daily and monthly limits reset in, for work that runs outside a request. */
  timeZone: string;
}

const servicesCache = new WeakMap<Config, Services>();

export function servicesFor(config: Config, env: Pick<Env, "USAGE_QUEUE" | "BILLING_QUEUE">): Services {
  let services = servicesCache.get(config);
  if (!services) {
    services = {
      db: createDatabase(config.databaseUrl),
      redis: new Redis({
        url: config.redis.url,
        token: config.redis.token,
        enableTelemetry: false,
        // A request cannot wait seconds for Redis: two quick retries, then the caller's policy decides.
        retry: { retries: 2, backoff: (attempt) => 25 * 2 ** attempt },
      }),
      usageQueue: env.USAGE_QUEUE,
      webhooks: config.webhooks,
      billingQueue: env.BILLING_QUEUE,
      timeZone: config.limits.timeZone,
    };
    servicesCache.set(config, services);
  }
  return services;
}
