// `GET /health`: version, configured providers, and whether Postgres and
// Redis answer. It is open to anyone, so the stores are read at most every
// few seconds per isolate; the admin key's call reads them at once.
import { sql } from "drizzle-orm";
import { Hono } from "hono";
import { DESCRIBE } from "#describe";
import { secretsEqual } from "../auth/constant-time.ts";
import { readCredential } from "../auth/credentials.ts";
import type { GatewayEnv } from "../context.ts";
import { doc } from "../openapi/doc.ts";
import { catalogFor } from "../routing/catalog.ts";
import { configuredProviders } from "../routing/resolve.ts";
import { VERSION } from "../version.ts";

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

type Probe = Awaited<ReturnType<typeof probe>>;

/** Anyone's `/health` reads the stores at most this often per isolate; the admin key's reads them now. */
const PROBE_EVERY_MS = 10_000;
const lastProbes = new WeakMap<object, { at: number; postgres: Probe; redis: Probe }>();

healthRoutes.get(
  "/health",
  doc(
    DESCRIBE && {
      summary:
        "Version, configured providers, and whether Postgres and Redis answered (read at most every 10 s; now with the admin key)",
    },
  ),
  async (c) => {
    const services = c.get("services");
    const config = c.get("config");
    const credential = readCredential(c.req.raw, { query: false });
    const asAdmin = credential !== undefined && secretsEqual(credential, config.adminKey);
    let last = lastProbes.get(services);
    if (asAdmin || !last || Date.now() - last.at >= PROBE_EVERY_MS) {
      const [postgres, redis] = await Promise.all([
        probe(() => services.db.execute(sql`select 1`)),
        probe(() => services.redis.ping()),
      ]);
      last = { at: Date.now(), postgres, redis };
      lastProbes.set(services, last);
    }
    const ok = last.postgres.ok && last.redis.ok;
    return c.json(
      {
        status: ok ? "ok" : "degraded",
        version: VERSION,
        providers: configuredProviders(config, await catalogFor(c)),
        postgres: last.postgres,
        redis: last.redis,
        checked_at: new Date(last.at).toISOString(),
      },
      ok ? 200 : 503,
    );
  },
);
