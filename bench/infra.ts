// The benchmark's supporting servers, away from the load generator's event
// loop: the Neon and Upstash stand-ins (embedded engines) in this process and
// the mock upstream in a child of its own, so database work never delays the
// upstream. It prints one JSON line with their addresses, then serves
// `/totals` and `/trips/:requestId`: the stand-ins' round-trip counts now, and
// at the moment the mock received a given request (all the gateway did before
// its first upstream byte); `POST /latency?ms=N` puts the stores N ms away.
import { fork } from "node:child_process";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";
import Redis from "ioredis";
import pg from "pg";
import { migrateDatabase } from "../dev/migrate.ts";
import { listen, sendJson } from "../dev/standins/http.ts";
import { startNeonStandIn } from "../dev/standins/neon-http.ts";
import { startUpstashStandIn } from "../dev/standins/upstash-rest.ts";

export interface RoundTrips {
  postgres: number;
  redis: number;
  /** Round trips answered so far: the ones a gateway can have waited on. */
  postgresAnswered: number;
  redisAnswered: number;
}

/**
 * The stand-ins put real engines behind them when this machine has them
 * (BENCH_POSTGRES_URL / BENCH_REDIS_URL, or the usual local ports), so the
 * figures measure the gateway rather than the embedded engines, whose Lua
 * runs in an interpreter written in JavaScript.
 */
async function realPostgres(): Promise<string | undefined> {
  const server = process.env.BENCH_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const client = new pg.Client({ connectionString: server, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    await client.query("DROP DATABASE IF EXISTS sluice_bench WITH (FORCE)");
    await client.query("CREATE DATABASE sluice_bench");
    const url = new URL(server);
    url.pathname = "/sluice_bench";
    return url.toString();
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function realRedis(): Promise<string | undefined> {
  const url = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379/14";
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0 });
  try {
    await client.connect();
    await client.flushdb();
    return url;
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}

const postgresTarget = await realPostgres();
const redisTarget = await realRedis();
const neon = await startNeonStandIn({ target: postgresTarget });
const upstash = await startUpstashStandIn({ target: redisTarget });
await migrateDatabase(neon.url);

const totals = (): RoundTrips => ({
  postgres: neon.counter.total,
  redis: upstash.counter.total,
  postgresAnswered: neon.counter.answered,
  redisAnswered: upstash.counter.answered,
});
const atArrival = new Map<string, RoundTrips>();
// The mock child reports each arrival by request id; counts are read here at that moment.
const mockProcess = fork(fileURLToPath(new URL("./mock-process.ts", import.meta.url)), {
  stdio: ["ignore", "ignore", "inherit", "ipc"],
});
const mockUrl = await new Promise<string>((resolve) => {
  mockProcess.on("message", (message: { url?: string; arrived?: string }) => {
    if (message.url) resolve(message.url);
    if (message.arrived) {
      atArrival.set(message.arrived, totals());
      if (atArrival.size > 10_000) atArrival.clear();
    }
  });
});
process.on("SIGTERM", () => {
  mockProcess.kill("SIGTERM");
  process.exit(0);
});

const control = createServer((req, res) => {
  // `POST /latency?ms=30`: every stand-in reply from now on waits that long, as a remote store's would.
  const latency = /^\/latency\?ms=(\d+)$/.exec(req.url ?? "");
  if (req.method === "POST" && latency) {
    neon.counter.replyDelayMs = Number(latency[1]);
    upstash.counter.replyDelayMs = Number(latency[1]);
    return sendJson(res, 200, { latencyMs: Number(latency[1]) });
  }
  const trips = /^\/trips\/(.+)$/.exec(req.url ?? "");
  if (trips) {
    const found = atArrival.get(decodeURIComponent(trips[1] ?? ""));
    return found ? sendJson(res, 200, found) : sendJson(res, 404, {});
  }
  sendJson(res, 200, totals());
});
const controlPort = await listen(control);

console.log(
  JSON.stringify({
    mockUrl,
    databaseUrl: neon.url,
    redisUrl: upstash.url,
    redisToken: upstash.token,
    controlUrl: `http://127.0.0.1:${controlPort}`,
    engines: `${neon.engine.kind} + ${upstash.engine.kind === "redis" ? "redis-server" : "embedded redis"}`,
  }),
);
