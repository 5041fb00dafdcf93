// The figures the public "On the Bench" board publishes for gateways,
// measured the same way and side by side in one run: the throughput frontier
// from one concurrency sweep, the most concurrent streams sustained whole,
// idle / steady / recovered memory, large prompts, and cold start.
import { readFileSync } from "node:fs";
import type { Miniflare } from "miniflare";
import { type LoadSpec, median, percentile, runLoad, runStreams } from "./load.ts";
import { cpuMs, type Target } from "./targets.ts";

export interface BoardOptions {
  quick: boolean;
  /** Waits until deferred work has drained. */
  settle: () => Promise<void>;
}

/** p99 thresholds of the frontier, in ms. */
export const FRONTIER_P99_MS = [1, 5, 10, 50, 100] as const;

export interface FrontierFigures {
  sweep: { concurrency: number; rps: number; p99Ms: number; errors: number }[];
  /** Most req/s with p99 under each threshold (0 when no level stays under it). */
  best: Record<string, number>;
}

const chatBody = JSON.stringify({
  model: "mock-echo",
  messages: [{ role: "user", content: "Benchmark this gateway, please." }],
});

function load(target: Target, extra: Partial<LoadSpec> & Pick<LoadSpec, "concurrency" | "requests">): LoadSpec {
  return { url: target.url, headers: target.headers, body: target.bodies?.plain ?? chatBody, timeLimitMs: 5_000, ...extra };
}

/** One sweep of concurrency; each level's req/s and p99, and the best req/s under each p99 threshold. */
export async function measureFrontier(target: Target, options: BoardOptions): Promise<FrontierFigures> {
  const levels = options.quick ? [1, 4, 16, 64, 256] : [1, 2, 4, 8, 16, 32, 64, 128, 256];
  const sweep: FrontierFigures["sweep"] = [];
  for (const concurrency of levels) {
    const requests = options.quick ? Math.max(100, concurrency * 4) : Math.max(300, concurrency * 12);
    const result = await runLoad(load(target, { concurrency, requests, timeLimitMs: options.quick ? 4_000 : 10_000 }));
    sweep.push({
      concurrency,
      rps: (result.latenciesMs.length / result.durationMs) * 1000,
      p99Ms: percentile(result.latenciesMs, 99),
      errors: result.errors,
    });
  }
  const best = Object.fromEntries(
    FRONTIER_P99_MS.map((ms) => [
      String(ms),
      Math.max(0, ...sweep.filter((level) => level.errors === 0 && level.p99Ms < ms).map((level) => level.rps)),
    ]),
  );
  return { sweep, best };
}

export interface StreamCapacityFigures {
  intervalMs: number;
  chunks: number;
  levels: { concurrency: number; sustained: number; total: number; worstGapMs: number; framesPerS: number }[];
  /** The most concurrent streams with every frame delivered and no gap over ten times the chunk interval. */
  maxStreams: number;
  framesPerS: number;
}

/**
 * Concurrent streams, doubling by four until one is cut short or stalls (a
 * gap between frames over ten times the chunk interval); frames per second
 * at the last level every stream came through whole.
 */
export async function measureStreamCapacity(target: Target, options: BoardOptions): Promise<StreamCapacityFigures> {
  const intervalMs = 20;
  const chunks = options.quick ? 16 : 32;
  const levels = options.quick ? [16, 64, 256] : [16, 64, 256, 1024];
  const figures: StreamCapacityFigures = { intervalMs, chunks, levels: [], maxStreams: 0, framesPerS: 0 };
  for (const concurrency of levels) {
    const result = await runStreams({
      ...load(target, { concurrency, requests: concurrency, timeLimitMs: 60_000 }),
      body:
        target.bodies?.streamed ??
        JSON.stringify({ model: "mock-lorem", stream: true, messages: [{ role: "user", content: "s" }] }),
      headers: {
        ...target.headers,
        "x-mock-tokens": String(chunks),
        "x-mock-chunks": String(chunks),
        "x-mock-interval-ms": String(intervalMs),
      },
      expectedEvents: chunks + 3,
      pacedEvents: chunks,
      pacedFrom: target.pacedFrom ?? 0,
      intervalMs,
      stallMs: intervalMs * 10,
    });
    const framesPerS = (result.events / result.durationMs) * 1000;
    figures.levels.push({
      concurrency,
      sustained: result.sustained,
      total: result.total,
      worstGapMs: Math.max(0, ...result.maxGapsMs),
      framesPerS,
    });
    await options.settle();
    if (result.sustained < concurrency) break;
    figures.maxStreams = concurrency;
    figures.framesPerS = framesPerS;
  }
  return figures;
}

export interface MemoryFigures {
  idleMiB: number;
  steadyMiB: number;
  recoveredMiB: number;
  /** Whether RSS stopped growing within the batches run. */
  steady: boolean;
  /** Growth over the last batches, MiB per 10,000 requests (the figure to read when never steady). */
  growthMiBPer10k: number;
  requests: number;
}

/** Resident memory of processes now, in MiB. */
export function rssMiB(pids: number[]): number {
  return pids.reduce((sum, pid) => {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      return sum + (match ? Number(match[1]) / 1024 : 0);
    } catch {
      return sum;
    }
  }, 0);
}

/**
 * RSS idle (given, read when the target started), then batches of load until
 * three batches in a row grow it by less than 2 % (steady), and again after a
 * quiet pause (recovered). When it never settles, the growth rate over the
 * last batches is the figure.
 */
export async function measureMemory(target: Target, idleMiB: number, options: BoardOptions): Promise<MemoryFigures> {
  const batch = options.quick ? 1_000 : 5_000;
  const maxBatches = options.quick ? 6 : 12;
  const readings: number[] = [];
  let requests = 0;
  let steady = false;
  for (let i = 0; i < maxBatches && !steady; i++) {
    const result = await runLoad(load(target, { concurrency: 32, requests: batch, timeLimitMs: 60_000 }));
    requests += result.latenciesMs.length + result.errors;
    readings.push(rssMiB(target.pids));
    const last = readings.slice(-4);
    steady = last.length === 4 && ((last[3] ?? 0) - (last[0] ?? 0)) / (last[0] ?? 1) < 0.02;
  }
  await options.settle();
  await new Promise((resolve) => setTimeout(resolve, options.quick ? 3_000 : 10_000));
  const tail = readings.slice(-4);
  const growthMiBPer10k = tail.length > 1 ? (((tail.at(-1) ?? 0) - (tail[0] ?? 0)) / ((tail.length - 1) * batch)) * 10_000 : 0;
  return {
    idleMiB,
    steadyMiB: readings.at(-1) ?? Number.NaN,
    recoveredMiB: rssMiB(target.pids),
    steady,
    growthMiBPer10k,
    requests,
  };
}

export const BODY_SIZES = [
  { name: "1 KiB", bytes: 1024 },
  { name: "64 KiB", bytes: 64 * 1024 },
  { name: "400 KiB", bytes: 400 * 1024 },
  { name: "2 MiB", bytes: 2 * 1024 * 1024 },
] as const;

/** A coding agent's conversation of about `bytes` of JSON: turns of ~1 KiB, the last a short question. */
export function conversation(bytes: number): { role: "user" | "assistant"; content: string }[] {
  const turn = "const answer = compute(input); // a line of code the agent has seen before\n".repeat(13);
  const turns = Math.max(0, Math.floor((bytes - 200) / (turn.length + 40)));
  const messages = Array.from({ length: turns }, (_, i) => ({
    role: i % 2 === 0 ? ("user" as const) : ("assistant" as const),
    content: turn,
  }));
  if (messages.at(-1)?.role === "user") messages.pop();
  messages.push({ role: "user", content: "Summarize the change." });
  return messages;
}

export interface LargeBodyFigures {
  /** Per size: p50 latency at c=1 and the process CPU per request. */
  sizes: Record<string, { bytes: number; p50Ms: number; cpuMsPerRequest: number }>;
}

type BodySize = (typeof BODY_SIZES)[number];

/** Requests of one size at c=1 through a target: latency and the process CPU they cost, deferred work included. */
async function measureLargeBody(
  target: Target,
  format: "openai" | "anthropic",
  size: BodySize,
  options: BoardOptions,
): Promise<LargeBodyFigures["sizes"][string]> {
  const messages = conversation(size.bytes);
  const body = JSON.stringify(
    format === "anthropic" ? { model: "mock-echo", max_tokens: 64, messages } : { model: "mock-echo", messages },
  );
  // /proc counts CPU in 10 ms ticks: enough requests of each size that a tick is a small share of their total.
  const requests = Math.round(((options.quick ? 24 : 64) * 2 ** 20) / size.bytes);
  const capped = Math.min(Math.max(requests, options.quick ? 12 : 32), options.quick ? 80 : 200);
  await runLoad(load(target, { concurrency: 1, requests: 2, body }));
  await options.settle();
  const before = cpuMs(target.pids);
  const result = await runLoad(load(target, { concurrency: 1, requests: capped, body, timeLimitMs: 60_000 }));
  await options.settle();
  if (result.errors > 0) throw new Error(`bench: ${result.errors} requests of ${size.name} failed through ${target.name}`);
  const served = result.latenciesMs.length;
  return {
    bytes: body.length,
    p50Ms: median(result.latenciesMs),
    cpuMsPerRequest: target.pids.length > 0 && served > 0 ? (cpuMs(target.pids) - before) / served : Number.NaN,
  };
}

/**
 * Each size through each target, size by size, the targets in turn: the
 * passthrough and translated columns share one process, and a heap grown by
 * one path's megabyte prompts is paid for in the other's collections, so
 * neither path takes every size after the other (their order swaps from one
 * size to the next).
 */
export async function measureLargeBodies(
  targets: { target: Target; format: "openai" | "anthropic" }[],
  options: BoardOptions,
): Promise<Record<string, LargeBodyFigures>> {
  const figures: Record<string, LargeBodyFigures> = Object.fromEntries(targets.map((t) => [t.target.name, { sizes: {} }]));
  for (const [index, size] of BODY_SIZES.entries()) {
    const order = index % 2 === 0 ? targets : [...targets].reverse();
    for (const { target, format } of order) {
      console.error(`bench: large bodies: ${size.name} through ${target.name}`);
      const into = figures[target.name];
      if (into) into.sizes[size.name] = await measureLargeBody(target, format, size, options);
    }
  }
  return figures;
}

export interface ColdStartFigures {
  /** From creating the runtime to it listening. */
  readyMs: number;
  /** The first request, answered, once it listens: the isolate's script evaluated and its first caches filled. */
  firstRequestMs: number;
  totalMs: number;
}

/**
 * A fresh workerd with a fresh isolate, to its first answered request.
 * `start` returns the runtime and the request to make.
 */
export async function measureColdStart(
  start: () => Promise<{ mf: Miniflare; url: string; init: RequestInit }>,
  runs: number,
): Promise<ColdStartFigures> {
  const samples: ColdStartFigures[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const { mf, url, init } = await start();
    const ready = performance.now();
    try {
      const response = await fetch(url, init);
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`bench: cold start's first request answered ${response.status}`);
      const answered = performance.now();
      samples.push({ readyMs: ready - started, firstRequestMs: answered - ready, totalMs: answered - started });
    } finally {
      await mf.dispose();
    }
  }
  const pick = (f: (x: ColdStartFigures) => number) => median(samples.map(f));
  return { readyMs: pick((x) => x.readyMs), firstRequestMs: pick((x) => x.firstRequestMs), totalMs: pick((x) => x.totalMs) };
}
