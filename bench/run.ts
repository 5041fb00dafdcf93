// `npm run bench [-- --quick] [-- --traced] [-- --stream-usage]` (or `-- --soak`, bench/soak.ts): Sluice against the mock called directly, a
// bare forwarding Worker, and Portkey, side by side in one run. Every figure
// is the median of 3 runs. Results: bench/results/latest.json and a markdown
// table on stdout.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import {
  BODY_SIZES,
  type ColdStartFigures,
  type FrontierFigures,
  type LargeBodyFigures,
  type MemoryFigures,
  measureColdStart,
  measureFrontier,
  measureLargeBodies,
  measureMemory,
  measureStreamCapacity,
  rssMiB,
  type StreamCapacityFigures,
} from "./board.ts";
import { type LoadSpec, median, percentile, runLoad, runStreams } from "./load.ts";
import { renderTable } from "./report.ts";
import { soak } from "./soak.ts";
import {
  buildWorker,
  cpuMs,
  directTarget,
  forwarderOptions,
  type Infra,
  peakMemoryMiB,
  ROOT,
  runBench,
  sluiceOptions,
  sluiceTranslated,
  startForwarder,
  startInfra,
  startPortkey,
  startRuntime,
  startSluice,
  type Target,
} from "./targets.ts";

const quick = process.argv.includes("--quick");
/** `--traced`: a third Sluice column with tracing on (every request sampled, spans to the mock's collector) and metrics on. */
const traced = process.argv.includes("--traced");
/** `--stream-usage`: a Sluice column with STREAM_USAGE=always, where a stream's usage chunk goes to every client and nothing is taken out. */
const streamUsage = process.argv.includes("--stream-usage");
/** `--board-only`: only the board's figures (frontier, stream capacity, memory, large bodies, cold start); `--no-board`: none of them. */
const boardOnly = process.argv.includes("--board-only");
const board = !process.argv.includes("--no-board");
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

export interface TargetFigures {
  /** latency[ms][concurrency] = {p50, p90, p99} in ms. */
  latency: Record<string, Record<string, { p50: number; p90: number; p99: number }>>;
  throughputRps: number;
  errors: number;
  stream: { ttfbMs: number; gapP99Ms: number; complete: number; total: number };
  peakMemoryMiB: number;
  /** The gateway process's CPU time (user + system) over the non-streamed loads, per request served; deferred work included. */
  cpuMsPerRequest: number;
  /** The same over the streamed load, per stream of `STREAM.chunks` chunks. */
  cpuMsPerStream: number;
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

async function measureOnce(target: Target, infra: Infra): Promise<TargetFigures> {
  const latency: TargetFigures["latency"] = {};
  let throughputRps = 0;
  let errors = 0;
  let served = 0;
  const cpuBefore = cpuMs(target.pids);
  for (const latencyMs of LATENCIES) {
    const perLatency: Record<string, { p50: number; p90: number; p99: number }> = {};
    for (const concurrency of CONCURRENCIES) {
      const requests = latencyMs === 0 ? COUNTS[concurrency] : concurrency * COUNTS.slow * 5;
      const result = await runLoad(spec(target, { concurrency, requests }, { "x-mock-latency-ms": String(latencyMs) }));
      errors += result.errors;
      served += result.latenciesMs.length;
      perLatency[concurrency] = {
        p50: percentile(result.latenciesMs, 50),
        p90: percentile(result.latenciesMs, 90),
        p99: percentile(result.latenciesMs, 99),
      };
      if (latencyMs === 0 && concurrency === 64) throughputRps = (result.latenciesMs.length / result.durationMs) * 1000;
    }
    latency[latencyMs] = perLatency;
  }
  // Deferred work (usage records, settlement) is the gateway's cost too: it is counted once it has drained.
  await settle(infra);
  const cpuMsPerRequest = target.pids.length > 0 ? (cpuMs(target.pids) - cpuBefore) / served : Number.NaN;
  const cpuBeforeStreams = cpuMs(target.pids);
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
  await settle(infra);
  const cpuMsPerStream = target.pids.length > 0 ? (cpuMs(target.pids) - cpuBeforeStreams) / streams.total : Number.NaN;
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
    cpuMsPerRequest,
    cpuMsPerStream,
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
    cpuMsPerRequest: pick((f) => f.cpuMsPerRequest),
    cpuMsPerStream: pick((f) => f.cpuMsPerStream),
  };
}

interface Trips {
  postgres: number;
  redis: number;
  postgresAnswered: number;
  redisAnswered: number;
}

export interface RoundTripFigures {
  /** Round trips the gateway waited on before its upstream request left: answered before the mock received it. */
  beforeUpstream: { postgres: number; redis: number };
  /** Every other round trip, in parallel or after the response: per request over a steady load, batching included. */
  deferred: { postgres: number; redis: number };
}

/**
 * Round trips of Sluice requests. Those waited on before the upstream call:
 * measured request by request with the stores placed far away, so a round
 * trip answered before the upstream received the request is one the gateway
 * waited for, and one sent alongside the upstream call is not. All others:
 * counted over a steady load and divided by its requests, so batched work
 * (usage records, settlement) counts at what it costs per request.
 */
async function measureRoundTrips(infra: Infra, sluice: Target, headers: Record<string, string> = {}): Promise<RoundTripFigures> {
  const totals = async () => (await (await fetch(`${infra.controlUrl}/totals`)).json()) as Trips;
  const before = { postgres: [] as number[], redis: [] as number[] };
  for (let i = 0; i < COUNTS.trips; i++) {
    const start = await totals();
    const response = await fetch(sluice.url, {
      method: "POST",
      headers: { ...sluice.headers, ...headers, "content-type": "application/json" },
      body: nonStreamedBody,
    });
    await response.text();
    const requestId = response.headers.get("x-request-id") ?? "";
    const arrival = (await (await fetch(`${infra.controlUrl}/trips/${requestId}`)).json()) as Trips;
    before.postgres.push(arrival.postgresAnswered - start.postgresAnswered);
    before.redis.push(arrival.redisAnswered - start.redisAnswered);
  }
  await settle(infra);
  const start = await totals();
  const load = await runLoad(spec(sluice, { concurrency: 16, requests: COUNTS[16] }, headers));
  await settle(infra);
  const end = await totals();
  const served = load.latenciesMs.length + load.errors;
  return {
    beforeUpstream: { postgres: median(before.postgres), redis: median(before.redis) },
    deferred: { postgres: (end.postgres - start.postgres) / served, redis: (end.redis - start.redis) / served },
  };
}

const REMOTE = { storeLatencyMs: 30, upstreamFirstByteMs: 50 };

const placeStores = (infra: Infra, ms: number) => fetch(`${infra.controlUrl}/latency?ms=${ms}`, { method: "POST" });

async function streamTtfb(target: Target, extraHeaders: Record<string, string>): Promise<number> {
  const streams = await runStreams({
    ...spec(target, { concurrency: 16, requests: COUNTS.streams, timeLimitMs: TIME_LIMIT_MS * 3 }),
    body: target.bodies?.streamed ?? streamedBody,
    headers: { ...target.headers, ...extraHeaders, "x-mock-chunks": "8", "x-mock-interval-ms": "5" },
    expectedEvents: 11,
    pacedEvents: 8,
    pacedFrom: target.pacedFrom ?? 0,
    intervalMs: 5,
  });
  return median(streams.ttfbMs);
}

/**
 * Production's distances: the stores 30 ms away (Upstash and Neon in another
 * region) and an upstream that takes 50 ms to its first byte. What Sluice
 * adds to a stream's first byte over the bare forwarder is what a far user
 * pays for its checks; round trips are counted here too.
 */
async function measureRemoteStores(infra: Infra, forwarder: Target, sluice: Target) {
  await placeStores(infra, REMOTE.storeLatencyMs);
  try {
    const upstream = { "x-mock-latency-ms": String(REMOTE.upstreamFirstByteMs) };
    // Warm, at the new distance: caches refreshed, the isolate's view of the key's headroom current.
    await runLoad(spec(sluice, { concurrency: 4, requests: COUNTS.warm }, upstream));
    const forwarderTtfb: number[] = [];
    const sluiceTtfb: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      forwarderTtfb.push(await streamTtfb(forwarder, upstream));
      sluiceTtfb.push(await streamTtfb(sluice, upstream));
      await settle(infra);
    }
    const warmTrips = await measureRoundTrips(infra, sluice, upstream);
    return {
      latencyMs: REMOTE.storeLatencyMs,
      upstreamFirstByteMs: REMOTE.upstreamFirstByteMs,
      forwarderTtfbMs: median(forwarderTtfb),
      sluiceTtfbMs: median(sluiceTtfb),
      sluiceTtfbAddedMs: median(sluiceTtfb) - median(forwarderTtfb),
      roundTrips: warmTrips,
    };
  } finally {
    await placeStores(infra, 0);
  }
}

/**
 * A response cache hit: the same request again with `x-sluice-cache`, its
 * answer kept at the first call. What a hit takes beside the bare forwarder
 * in front of an upstream that answers at once, and one 50 ms away.
 */
async function measureCacheHits(forwarder: Target, sluice: Target) {
  const cached = { "x-sluice-cache": "ttl=3600" };
  await runLoad(spec(sluice, { concurrency: 1, requests: 2 }, cached));
  // What is measured must be hits: the request once more, its answer from the cache.
  const probe = spec(sluice, { concurrency: 1, requests: 1 }, cached);
  const answer = await fetch(probe.url, { method: "POST", headers: probe.headers, body: probe.body });
  await answer.arrayBuffer();
  if (answer.status !== 200 || answer.headers.get("x-sluice-cache") !== "hit") {
    throw new Error(`bench: the cached request was not a hit (${answer.status}, ${answer.headers.get("x-sluice-cache")})`);
  }
  const atConcurrency = async (concurrency: 1 | 16) => {
    const hits: number[] = [];
    const direct: number[] = [];
    const slow: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const requests = COUNTS[concurrency];
      const served = await runLoad(spec(sluice, { concurrency, requests }, cached));
      if (served.errors > 0) throw new Error(`bench: ${served.errors} cache hits failed`);
      hits.push(percentile(served.latenciesMs, 50));
      direct.push(percentile((await runLoad(spec(forwarder, { concurrency, requests }))).latenciesMs, 50));
      const slowUpstream = { "x-mock-latency-ms": "50" };
      slow.push(
        percentile((await runLoad(spec(forwarder, { concurrency, requests: concurrency * 20 }, slowUpstream))).latenciesMs, 50),
      );
    }
    const hitP50Ms = median(hits);
    const forwarderP50Ms = median(direct);
    return { hitP50Ms, forwarderP50Ms, hitAddedMs: hitP50Ms - forwarderP50Ms, forwarderUpstream50msP50Ms: median(slow) };
  };
  return { c1: await atConcurrency(1), c16: await atConcurrency(16) };
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

export interface BoardResult {
  frontier: Record<string, FrontierFigures>;
  streams: Record<string, StreamCapacityFigures>;
  memory: Record<string, MemoryFigures>;
  largeBodies: Record<string, LargeBodyFigures>;
  coldStart: Record<string, ColdStartFigures>;
}

/** Each board figure, target after target within the section, so the baselines are measured beside Sluice. */
async function measureBoard(
  infra: Infra,
  targets: Target[],
  idleMiB: Map<string, number>,
  bundlePath: string,
  sections: "memory" | "rest",
  into: Partial<BoardResult>,
): Promise<void> {
  const options = { quick, settle: () => settle(infra) };
  const named = (name: string) => targets.find((t) => t.name === name);
  if (sections === "memory") {
    into.memory = {};
    // sluice-translated shares sluice's process; the traced column has its own.
    for (const target of targets.filter((t) => t.pids.length > 0 && t.name !== "sluice-translated")) {
      console.error(`bench: memory: ${target.name}`);
      into.memory[target.name] = await measureMemory(target, idleMiB.get(target.name) ?? Number.NaN, options);
    }
    return;
  }
  into.frontier = {};
  for (const target of targets) {
    console.error(`bench: throughput frontier: ${target.name}`);
    into.frontier[target.name] = await measureFrontier(target, options);
    await settle(infra);
  }
  into.streams = {};
  for (const target of targets) {
    console.error(`bench: concurrent streams: ${target.name}`);
    into.streams[target.name] = await measureStreamCapacity(target, options);
  }
  into.largeBodies = await measureLargeBodies(
    ["direct", "forwarder", "sluice", "sluice-translated"].flatMap((name) => {
      const target = named(name);
      return target ? [{ target, format: name === "sluice-translated" ? ("anthropic" as const) : ("openai" as const) }] : [];
    }),
    options,
  );
  const sluice = named("sluice") as Target;
  const coldRuns = quick ? 1 : 3;
  const chat = (headers: Record<string, string>): RequestInit => ({
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: nonStreamedBody,
  });
  console.error("bench: cold start");
  into.coldStart = {
    forwarder: await measureColdStart(async () => {
      const { mf, url } = await startRuntime(forwarderOptions(infra));
      return { mf, url: new URL("/v1/chat/completions", url).toString(), init: chat({}) };
    }, coldRuns),
    sluice: await measureColdStart(async () => {
      const { mf, url } = await startRuntime(sluiceOptions(infra, bundlePath));
      return { mf, url: new URL("/v1/chat/completions", url).toString(), init: chat(sluice.headers) };
    }, coldRuns),
  };
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
    if (traced) {
      const observed = await startSluice(infra, bundle.path, {
        bindings: {
          OTEL_EXPORTER_OTLP_ENDPOINT: `${infra.mockUrl}/__mock/otlp/bench`,
          OTEL_TRACES_SAMPLER_ARG: "1",
          METRICS: "on",
        },
      });
      targets.push({ ...observed, name: "sluice-traced" });
    }
    if (streamUsage) {
      const always = await startSluice(infra, bundle.path, { bindings: { STREAM_USAGE: "always" } });
      targets.push({ ...always, name: "sluice-stream-usage" });
    }
    try {
      targets.push(await startPortkey(infra, 18787));
    } catch (error) {
      console.error(`bench: Portkey could not start (${String(error)}); its column is left out`);
    }
    const idleMiB = new Map(targets.map((t) => [t.name, rssMiB(t.pids)]));
    for (const target of targets) await warm(target);
    const boardResult: Partial<BoardResult> = {};
    // Memory first, before the other loads (2 MiB bodies among them) have grown the heaps.
    if (board) await measureBoard(infra, targets, idleMiB, bundle.path, "memory", boardResult);
    const runs = new Map<string, TargetFigures[]>(targets.map((t) => [t.name, []]));
    for (let run = 1; run <= (boardOnly ? 0 : RUNS); run++) {
      // Targets take turns within each run, so drift on the machine touches them all alike.
      for (const target of targets) {
        console.error(`bench: run ${run}/${RUNS}: ${target.name}`);
        runs.get(target.name)?.push(await measureOnce(target, infra));
        await settle(infra);
      }
    }
    const forwarder = targets.find((t) => t.name === "forwarder") as Target;
    let remoteStores: Awaited<ReturnType<typeof measureRemoteStores>> | undefined;
    let cacheHits: Awaited<ReturnType<typeof measureCacheHits>> | undefined;
    if (!boardOnly) {
      console.error("bench: stores 30 ms away, upstream 50 ms to first byte");
      remoteStores = await measureRemoteStores(infra, forwarder, sluice);
      console.error("bench: response cache hits");
      cacheHits = await measureCacheHits(forwarder, sluice);
    }
    if (board) await measureBoard(infra, targets, idleMiB, bundle.path, "rest", boardResult);
    const roundTrips = remoteStores?.roundTrips;
    const figures = Object.fromEntries(
      [...runs].filter(([, list]) => list.length > 0).map(([name, list]) => [name, medianFigures(list)]),
    );
    const result = {
      date: new Date().toISOString(),
      machine: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, stand-ins over ${infra.engines}, ${quick ? "quick" : "full"} run`,
      runs: RUNS,
      stream: STREAM,
      bundleGzipKiB: bundle.gzipBytes / 1024,
      roundTrips,
      remoteStores,
      cacheHits,
      figures,
      board: board ? (boardResult as BoardResult) : undefined,
      bodySizes: BODY_SIZES,
      durationS: (performance.now() - started) / 1000,
    };
    mkdirSync(`${ROOT}bench/results`, { recursive: true });
    // A run of the board's figures alone keeps the last full table where it is.
    writeFileSync(`${ROOT}bench/results/${boardOnly ? "board" : "latest"}.json`, `${JSON.stringify(result, null, 2)}\n`);
    console.log(renderTable(result));
  } finally {
    await Promise.all(targets.map((t) => t.close()));
    stop();
  }
}

const soakRequests = Number(process.argv[process.argv.indexOf("--requests") + 1]) || 200_000;
const entry = process.argv.includes("--soak") ? () => soak(soakRequests) : main;

runBench(entry);
