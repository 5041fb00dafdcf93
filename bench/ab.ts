// `npm run bench:ab -- --a path/to/a.js --b path/to/b.js [--prompt-kib K] [--latency-ms L] [--rounds R] [--requests N] [--translated]
// [--streams] [--a-env NAME=value,…] [--b-env NAME=value,…] [--a-direct] [--b-direct] [--a-admin] [--b-admin]`: two builds of the Worker side by side in one run, and the bare forwarder,
// measured in alternating rounds (A B F, then B A F, …), so a busy moment on
// a shared machine lands on both. The figure is process CPU per request from
// /proc, deferred work included; each build's own is its figure less the
// forwarder's of the same round. Requests go one at a time; with --streams,
// each is a stream of 64 chunks 2 ms apart, eight at a time. Without --b, B is
// this tree, built; --a-env and --b-env give each bindings of its own (the same
// build with a setting changed); --a-direct and --b-direct leave that build's
// usage queue unbound, so it writes its records to Postgres itself (Miniflare's
// queue broker runs in the measured process, a deployed Worker's queue does not).
import { conversation } from "./board.ts";
import { cpuPerRound, median, ROUND_STREAM, type RoundLoad } from "./rounds.ts";
import {
  BENCH_ADMIN_KEY,
  bindingsFrom,
  buildWorker,
  option,
  runBench,
  sluiceTranslated,
  startForwarder,
  startInfra,
  startSluice,
  type Target,
} from "./targets.ts";

const ROUNDS = Number(option("rounds") ?? 6);
const PROMPT_KIB = Number(option("prompt-kib") ?? 0);
const TRANSLATED = process.argv.includes("--translated");
/** `--latency-ms L`: the mock answers after L ms, so requests come one every L ms or so, as a quiet isolate sees them. */
const LATENCY_MS = Number(option("latency-ms") ?? 0);
const STREAMS = process.argv.includes("--streams");
/** `--a-env` and `--b-env NAME=value,…`: bindings each build starts with, beside the bench's own. */
const A_ENV = bindingsFrom(option("a-env"));
const B_ENV = bindingsFrom(option("b-env"));
/** `--a-direct`, `--b-direct`: that build without the usage queue, writing its records to Postgres itself. */
const DIRECT = { A: process.argv.includes("--a-direct"), B: process.argv.includes("--b-direct") };
/** `--a-admin`, `--b-admin`: that side called with the admin key, to which no limit applies (no lease, gate or settlement). */
const AS_ADMIN = { A: process.argv.includes("--a-admin"), B: process.argv.includes("--b-admin") };
/** Enough a round that /proc's 10 ms ticks are a small share: about 16 MiB of prompts, at least 100 requests; 96 streams. */
const REQUESTS = Number(option("requests") ?? (STREAMS ? 96 : Math.max(100, Math.round((16 * 1024) / Math.max(PROMPT_KIB, 1)))));

const UNIT = STREAMS ? "stream" : "request";
const spread = (values: number[]) => `${Math.min(...values).toFixed(3)}–${Math.max(...values).toFixed(3)}`;

function bodyFor(target: Target): string {
  if (PROMPT_KIB === 0) {
    return target.bodies?.plain ?? JSON.stringify({ model: "mock-echo", messages: [{ role: "user", content: "Measure me." }] });
  }
  const messages = conversation(PROMPT_KIB * 1024);
  return JSON.stringify(TRANSLATED ? { model: "mock-echo", max_tokens: 64, messages } : { model: "mock-echo", messages });
}

/** This run's load: streams, or requests one at a time with the prompt asked for. */
function loadFor(target: Target): RoundLoad {
  if (STREAMS) return { streams: true };
  return { streams: false, body: bodyFor(target), headers: LATENCY_MS > 0 ? { "x-mock-latency-ms": String(LATENCY_MS) } : {} };
}

async function main(): Promise<void> {
  const a = option("a");
  if (!a) throw new Error("--a path/to/worker.js is required");
  const b = option("b") ?? buildWorker().path;
  const { infra, stop } = await startInfra();
  const started: Target[] = [];
  try {
    const forwarder = await startForwarder(infra);
    started.push(forwarder);
    const views = (sluice: Target, asAdmin: boolean) => {
      const view = TRANSLATED ? sluiceTranslated(sluice) : sluice;
      return asAdmin ? { ...view, headers: { ...view.headers, authorization: `Bearer ${BENCH_ADMIN_KEY}` } } : view;
    };
    const builds = {
      A: await startSluice(infra, a, { bindings: A_ENV, directLedger: DIRECT.A }),
      B: await startSluice(infra, b, { bindings: B_ENV, directLedger: DIRECT.B }),
    };
    started.push(builds.A, builds.B);
    const targets = { A: views(builds.A, AS_ADMIN.A), B: views(builds.B, AS_ADMIN.B), F: forwarder };
    const cpu: Record<"A" | "B" | "F", number[]> = { A: [], B: [], F: [] };
    const own: Record<"A" | "B", number[]> = { A: [], B: [] };
    for (const name of ["A", "B", "F"] as const) await cpuPerRound(targets[name], 20, loadFor(targets[name]));
    for (let i = 0; i < ROUNDS; i++) {
      const order = i % 2 === 0 ? (["A", "B", "F"] as const) : (["B", "A", "F"] as const);
      const figures: Partial<Record<"A" | "B" | "F", number>> = {};
      for (const name of order) figures[name] = await cpuPerRound(targets[name], REQUESTS, loadFor(targets[name]));
      for (const name of order) cpu[name].push(figures[name] ?? Number.NaN);
      own.A.push((figures.A ?? Number.NaN) - (figures.F ?? Number.NaN));
      own.B.push((figures.B ?? Number.NaN) - (figures.F ?? Number.NaN));
      console.log(
        `round ${i + 1}: A ${figures.A?.toFixed(3)}  B ${figures.B?.toFixed(3)}  forwarder ${figures.F?.toFixed(3)} ms CPU/${UNIT}`,
      );
    }
    const what = STREAMS
      ? `streams of ${ROUND_STREAM.chunks} chunks ${ROUND_STREAM.intervalMs} ms apart at c=${ROUND_STREAM.concurrency}`
      : `requests at c=1, prompt ${PROMPT_KIB || "short"} KiB`;
    const env = [
      Object.keys(A_ENV).length > 0 ? `, A with ${JSON.stringify(A_ENV)}` : "",
      Object.keys(B_ENV).length > 0 ? `, B with ${JSON.stringify(B_ENV)}` : "",
      DIRECT.A ? ", A writing its records to Postgres itself" : "",
      DIRECT.B ? ", B writing its records to Postgres itself" : "",
      AS_ADMIN.A ? ", A called with the admin key" : "",
      AS_ADMIN.B ? ", B called with the admin key" : "",
    ].join("");
    console.log(`${ROUNDS} rounds of ${REQUESTS} ${what}${TRANSLATED ? ", translated" : ""}${env}:`);
    for (const name of ["A", "B", "F"] as const) {
      console.log(`  ${name} CPU/${UNIT} median ${median(cpu[name]).toFixed(3)} ms (${spread(cpu[name])})`);
    }
    for (const name of ["A", "B"] as const) {
      console.log(`  ${name} own (less the forwarder) median ${median(own[name]).toFixed(3)} ms (${spread(own[name])})`);
    }
    for (const name of ["A", "B"] as const) {
      const shares = cpu[name].map((value, i) => value / (cpu.F[i] ?? Number.NaN));
      console.log(`  ${name} ÷ forwarder, median of the rounds ${median(shares).toFixed(2)}× (${spread(shares)})`);
    }
  } finally {
    for (const target of started) await target.close();
    stop();
  }
}

runBench(main);
