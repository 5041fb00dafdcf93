// The benchmark's supporting servers, away from the load generator's event
// loop: the Neon and Upstash stand-ins (embedded engines) in this process and
// the mock upstream in a child of its own, so database work never delays the
// upstream. It prints one JSON line with their addresses, then serves
// `/totals` and `/trips/:requestId`: the stand-ins' round-trip counts now, and
// at the moment the mock received a given request (all the gateway did before
// its first upstream byte).
import { fork } from "node:child_process";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";
import { migrateDatabase } from "../dev/migrate.ts";
import { listen, sendJson } from "../dev/standins/http.ts";
import { startNeonStandIn } from "../dev/standins/neon-http.ts";
import { startUpstashStandIn } from "../dev/standins/upstash-rest.ts";

export interface RoundTrips {
  postgres: number;
  redis: number;
}

const neon = await startNeonStandIn({});
const upstash = await startUpstashStandIn({});
await migrateDatabase(neon.url);

const totals = (): RoundTrips => ({ postgres: neon.counter.total, redis: upstash.counter.total });
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
  }),
);
