// `GET /health`: version, configured providers, and whether Postgres and Redis answer.
import { sql } from "drizzle-orm";
import { Hono } from "hono";
import packageJson from "../../package.json" with { type: "json" };
import type { GatewayEnv } from "../context.ts";
import { doc } from "../openapi/doc.ts";
import { catalogFor } from "../routing/catalog.ts";
import { configuredProviders } from "../routing/resolve.ts";

const PROBE_TIMEOUT_MS = 2000;

async function probe(check: () => Promise<unknown>): Promise<{ ok: boolean; latency_ms: number; error?: string }> {
  const started = performance.now();
  try {
    await Promise.race([check(), new Promise((_, reject) => setTimeout(() => reject(new Error("timed out")), PROBE_TIMEOUT_MS))]);
    return { ok: true, latency_ms: Math.round(performance.now() - started) };
  } catch (error) {
    // The driver's message can name the host; say only what kind of failure it was.
    const reason = error instanceof Error && error.message === "timed out" ? "timed out" : "unreachable";
    return { ok: false, latency_ms: Math.round(performance.now() - started), error: reason };
  }
}

export const healthRoutes = new Hono<GatewayEnv>();

healthRoutes.get(
  "/health",
  doc({ summary: "Version, configured providers, and whether Postgres and Redis answer" }),
  async (c) => {
    const { db, redis } = c.get("services");
    const [postgres, redisState] = await Promise.all([probe(() => db.execute(sql`select 1`)), probe(() => redis.ping())]);
    const ok = postgres.ok && redisState.ok;
    return c.json(
      {
        status: ok ? "ok" : "degraded",
        version: packageJson.version,
        providers: configuredProviders(c.get("config"), await catalogFor(c)),
        postgres,
        redis: redisState,
      },
      ok ? 200 : 503,
    );
  },
);
