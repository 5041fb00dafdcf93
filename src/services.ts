// The clients a request needs, built once per Config (so once per isolate).
import { Redis } from "@upstash/redis/cloudflare";
import type { Config } from "./config/index.ts";
import { type Database, createDatabase } from "./db/client.ts";

export interface Services {
  db: Database;
  redis: Redis;
}

const servicesCache = new WeakMap<Config, Services>();

export function servicesFor(config: Config): Services {
  let services = servicesCache.get(config);
  if (!services) {
    services = {
      db: createDatabase(config.databaseUrl),
      redis: new Redis({ url: config.redis.url, token: config.redis.token, enableTelemetry: false }),
    };
    servicesCache.set(config, services);
  }
  return services;
}
