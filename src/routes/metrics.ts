// `GET /metrics`: Prometheus text format, when METRICS is on. The figures
// are every isolate's, from the Redis hash they add to after each request,
// plus two backlogs read at scrape time; a scrape within a few seconds of
// the last one in the same isolate is answered from it.
import { and, count, isNull } from "drizzle-orm";
import { Hono } from "hono";
import { DESCRIBE } from "#describe";
import { secretsEqual } from "../auth/constant-time.ts";
import { readCredential } from "../auth/credentials.ts";
import type { GatewayEnv } from "../context.ts";
import { billingOutbox } from "../db/schema.ts";
import { GatewayError, unauthorized } from "../http/errors.ts";
import { EXPOSITION_CONTENT_TYPE, renderExposition } from "../metrics/exposition.ts";
import { seriesName } from "../metrics/families.ts";
import { readMetrics } from "../metrics/store.ts";
import { doc } from "../openapi/doc.ts";
import type { Services } from "../services.ts";
import { PARKED_USAGE_KEY } from "../usage/writer.ts";

/** How long a scrape's answer is reused by the same isolate. */
export const SCRAPE_CACHE_MS = 5000;

const lastScrapes = new WeakMap<Services, { at: number; body: string }>();

async function scrape(services: Services): Promise<string> {
  const [values, parked, [outbox]] = await Promise.all([
    readMetrics(services.redis),
    services.redis.llen(PARKED_USAGE_KEY),
    services.db
      .select({ pending: count() })
      .from(billingOutbox)
      .where(and(isNull(billingOutbox.sentAt), isNull(billingOutbox.deadAt))),
  ]);
  values.set(seriesName("sluice_usage_parked"), parked);
  values.set(seriesName("sluice_billing_outbox_pending"), outbox?.pending ?? 0);
  return renderExposition(values);
}

export const metricsRoutes = new Hono<GatewayEnv>();

metricsRoutes.get(
  "/metrics",
  doc(
    DESCRIBE && {
      summary: "Prometheus metrics of every isolate (METRICS=on): the admin key or METRICS_TOKEN as a bearer token",
      response: { description: "The Prometheus text exposition format, version 0.0.4", text: "text/plain" },
      bearer: true,
    },
  ),
  async (c) => {
    const config = c.get("config");
    const metrics = config.observability.metrics;
    if (!metrics) throw new GatewayError(404, "not_found", "No route for GET /metrics: metrics are off (METRICS).");
    const credential = readCredential(c.req.raw, { query: false });
    const allowed =
      credential !== undefined &&
      (secretsEqual(credential, config.adminKey) || (metrics.token !== undefined && secretsEqual(credential, metrics.token)));
    if (!allowed) throw unauthorized("`/metrics` takes the admin key or METRICS_TOKEN as a bearer token.");
    const services = c.get("services");
    let last = lastScrapes.get(services);
    if (!last || Date.now() - last.at >= SCRAPE_CACHE_MS) {
      last = { at: Date.now(), body: await scrape(services) };
      lastScrapes.set(services, last);
    }
    return c.body(last.body, 200, { "content-type": EXPOSITION_CONTENT_TYPE, "cache-control": "no-store" });
  },
);
