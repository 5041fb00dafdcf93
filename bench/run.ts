// `npm run bench [-- --quick]`: Sluice against the mock called directly, a
// bare forwarding Worker, and Portkey, side by side in one run. Every figure
// is the median of 3 runs. Results: bench/results/latest.json and a markdown
// table on stdout.
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { createInterface } from "node:readline";
import { type LoadSpec, median, percentile, runLoad, runStreams } from "./load.ts";
import { renderTable } from "./report.ts";
import {
  buildWorker,
  directTarget,
  type Infra,
  peakMemoryMiB,
  ROOT,
  sluiceTranslated,
  startForwarder,
  startPortkey,
  startSluice,
  type Target,
} from "./targets.ts";

const quick = process.argv.includes("--quick");
const RUNS = 3;
const CONCURRENCIES = [1, 16, 64] as const;
const LATENCIES = [0, 50] as const;
const STREAM = { chunks: 64, intervalMs: 20 };
// Requests per measurement: enough for a stable p99 at c=1 and saturation at c=64.
const COUNTS = quick
  ? { 1: 100, 16: 400, 64: 800, slow: 1, streams: 16, warm: 30, trips: 10 }
  : { 1: 400, 16: 2000, 64: 4000, slow: 4, streams: 32, warm: 200, trips: 20 };
const TIME_LIMIT_MS = quick ? 4_000 : 10_000;

const nonStreamedBody = JSON.stringify({
  model: "mock-echo",
  messages: [{ role: "user", content: "Benchmark this gateway, please." }],
});
const streamedBody = JSON.stringify({ model: "mock-lorem", stream: true, messages: [{ role: "user", content: "stream" }] });

async function startInfra(): Promise<{ infra: Infra; stop: () => void }> {
  const child = spawn("npx", ["tsx", `${ROOT}bench/infra.ts`], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`bench infra exited with ${code}`)));
  });
  return { infra: JSON.parse(line) as Infra, stop: () => child.kill("SIGTERM") };
}

export interface TargetFigures {
  /** latency[ms][concurrency] = {p50, p90, p99} in ms. */
  latency: Record<string, Record<string, { p50: number; p90: number; p99: number }>>;
  throughputRps: number;
  errors: number;
  stream: { ttfbMs: number; gapP99Ms: number; complete: number; total: number };
  peakMemoryMiB: number;
}

function spec(
  target: Target,
  extra: Partial<LoadSpec> & Pick<LoadSpec, "concurrency" | "requests">,
  headers: Record<string, string> = {},
): LoadSpec {
  return {
    url: target.url,
    headers: { ...target.headers, ...headers },
    body: target.bodies?.plain ?? nonStreamedBody,
    timeLimitMs: TIME_LIMIT_MS,
    ...extra,
  };
}

async function measureOnce(target: Target): Promise<TargetFigures> {
  const latency: TargetFigures["latency"] = {};
  let throughputRps = 0;
  let errors = 0;
  for (const latencyMs of LATENCIES) {
    const perLatency: Record<string, { p50: number; p90: number; p99: number }> = {};
    for (const concurrency of CONCURRENCIES) {
      const requests = latencyMs === 0 ? COUNTS[concurrency] : concurrency * COUNTS.slow * 5;
      const result = await runLoad(spec(target, { concurrency, requests }, { "x-mock-latency-ms": String(latencyMs) }));
      errors += result.errors;
      perLatency[concurrency] = {
        p50: percentile(result.latenciesMs, 50),
        p90: percentile(result.latenciesMs, 90),
        p99: percentile(result.latenciesMs, 99),
      };
      if (latencyMs === 0 && concurrency === 64) throughputRps = (result.latenciesMs.length / result.durationMs) * 1000;
    }
    latency[latencyMs] = perLatency;
  }
  const streams = await runStreams({
    ...spec(target, { concurrency: 16, requests: COUNTS.streams, timeLimitMs: TIME_LIMIT_MS * 3 }),
    body: target.bodies?.streamed ?? streamedBody,
    headers: {
      ...target.headers,
      "x-mock-tokens": String(STREAM.chunks),
      "x-mock-chunks": String(STREAM.chunks),
      "x-mock-interval-ms": String(STREAM.intervalMs),
    },
    expectedEvents: STREAM.chunks + 3,
    pacedEvents: STREAM.chunks,
    pacedFrom: target.pacedFrom ?? 0,
    intervalMs: STREAM.intervalMs,
  });
  return {
    latency,
    throughputRps,
    errors,
    stream: {
      ttfbMs: median(streams.ttfbMs),
      gapP99Ms: percentile(streams.gapErrorsMs, 99),
      complete: streams.complete,
      total: streams.total,
    },
    peakMemoryMiB: Math.max(0, ...target.pids.map(peakMemoryMiB)),
  };
}

/** Element-wise median of several runs' figures. */
function medianFigures(runs: TargetFigures[]): TargetFigures {
  const pick = (f: (figures: TargetFigures) => number) => median(runs.map(f));
  const first = runs[0] as TargetFigures;
  const latency: TargetFigures["latency"] = {};
  for (const [ms, byConcurrency] of Object.entries(first.latency)) {
    latency[ms] = {};
    for (const c of Object.keys(byConcurrency)) {
      const at = (figures: TargetFigures) => figures.latency[ms]?.[c] ?? { p50: Number.NaN, p90: Number.NaN, p99: Number.NaN };
      latency[ms][c] = { p50: pick((f) => at(f).p50), p90: pick((f) => at(f).p90), p99: pick((f) => at(f).p99) };
    }
  }
  return {
    latency,
    throughputRps: pick((f) => f.throughputRps),
    errors: runs.reduce((sum, f) => sum + f.errors, 0),
    stream: {
      ttfbMs: pick((f) => f.stream.ttfbMs),
      gapP99Ms: pick((f) => f.stream.gapP99Ms),
      complete: runs.reduce((sum, f) => sum + f.stream.complete, 0),
      total: runs.reduce((sum, f) => sum + f.stream.total, 0),
    },
    peakMemoryMiB: Math.max(...runs.map((f) => f.peakMemoryMiB)),
  };
}

/** Round trips a warm Sluice request makes, split at the first upstream byte. */
async function measureRoundTrips(
  infra: Infra,
  sluice: Target,
): Promise<{ beforeUpstream: { postgres: number; redis: number }; deferred: { postgres: number; redis: number } }> {
  const totals = async () => (await (await fetch(`${infra.controlUrl}/totals`)).json()) as { postgres: number; redis: number };
  const before = { postgres: [] as number[], redis: [] as number[] };
  const deferred = { postgres: [] as number[], redis: [] as number[] };
  for (let i = 0; i < COUNTS.trips; i++) {
    const start = await totals();
    const response = await fetch(sluice.url, {
      method: "POST",
      headers: { ...sluice.headers, "content-type": "application/json" },
      body: nonStreamedBody,
    });
    await response.text();
    const requestId = response.headers.get("x-request-id") ?? "";
    // Deferred writes finish after the response; give them time to land.
    await new Promise((resolve) => setTimeout(resolve, 150));
    const arrival = (await (await fetch(`${infra.controlUrl}/trips/${requestId}`)).json()) as { postgres: number; redis: number };
    const end = await totals();
    before.postgres.push(arrival.postgres - start.postgres);
    before.redis.push(arrival.redis - start.redis);
    deferred.postgres.push(end.postgres - arrival.postgres);
    deferred.redis.push(end.redis - arrival.redis);
  }
  return {
    beforeUpstream: { postgres: median(before.postgres), redis: median(before.redis) },
    deferred: { postgres: median(deferred.postgres), redis: median(deferred.redis) },
  };
}

/** Waits until deferred work (usage writes) has drained, so it does not bleed into the next measurement. */
async function settle(infra: Infra): Promise<void> {
  let last = "";
  for (let i = 0; i < 100; i++) {
    const now = await (await fetch(`${infra.controlUrl}/totals`)).text();
    if (now === last) return;
    last = now;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function warm(target: Target): Promise<void> {
  await runLoad(spec(target, { concurrency: 4, requests: COUNTS.warm }));
}

async function main(): Promise<void> {
  const started = performance.now();
  const bundle = buildWorker();
  const { infra, stop } = await startInfra();
  const targets: Target[] = [];
  try {
    const sluice = await startSluice(infra, bundle.path);
    targets.push(directTarget(infra), await startForwarder(infra), sluice, sluiceTranslated(sluice));
    try {
      targets.push(await startPortkey(infra, 18787));
    } catch (error) {
      console.error(`bench: Portkey could not start (${String(error)}); its column is left out`);
    }
    for (const target of targets) await warm(target);
    const runs = new Map<string, TargetFigures[]>(targets.map((t) => [t.name, []]));
    for (let run = 1; run <= RUNS; run++) {
      // Targets take turns within each run, so drift on the machine touches them all alike.
      for (const target of targets) {
        console.error(`bench: run ${run}/${RUNS}: ${target.name}`);
        runs.get(target.name)?.push(await measureOnce(target));
        await settle(infra);
      }
    }
    const roundTrips = await measureRoundTrips(infra, sluice);
    const figures = Object.fromEntries([...runs].map(([name, list]) => [name, medianFigures(list)]));
    const result = {
      date: new Date().toISOString(),
      machine: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, stand-ins over ${infra.engines}, ${quick ? "quick" : "full"} run`,
      runs: RUNS,
      stream: STREAM,
      bundleGzipKiB: bundle.gzipBytes / 1024,
      roundTrips,
      figures,
      durationS: (performance.now() - started) / 1000,
    };
    mkdirSync(`${ROOT}bench/results`, { recursive: true });
    writeFileSync(`${ROOT}bench/results/latest.json`, `${JSON.stringify(result, null, 2)}\n`);
    console.log(renderTable(result));
  } finally {
    await Promise.all(targets.map((t) => t.close()));
    stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`bench: ${error instanceof Error ? error.stack : String(error)}`);
    process.exit(1);
  },
);
