// Renders benchmark results as markdown: the figures side by side, ratios,
// and the targets met or missed.
import type { RoundTripFigures, TargetFigures } from "./run.ts";

export interface BenchResult {
  date: string;
  machine: string;
  runs: number;
  stream: { chunks: number; intervalMs: number };
  bundleGzipKiB: number;
  roundTrips: RoundTripFigures;
  remoteStores: {
    latencyMs: number;
    upstreamFirstByteMs: number;
    forwarderTtfbMs: number;
    sluiceTtfbMs: number;
    sluiceTtfbAddedMs: number;
  };
  /** A response cache hit's p50 beside the forwarder's, with an upstream at 0 and 50 ms. */
  cacheHits?: Record<
    "c1" | "c16",
    { hitP50Ms: number; forwarderP50Ms: number; hitAddedMs?: number; forwarderUpstream50msP50Ms: number }
  >;
  figures: Record<string, TargetFigures>;
}

const COLUMNS = ["direct", "forwarder", "sluice", "sluice-translated", "sluice-traced", "portkey"] as const;
const fixed = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : "–");
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(2)}×` : "–");

export function renderTable(result: BenchResult): string {
  const f = result.figures;
  const present = COLUMNS.filter((name) => f[name]);
  const direct = f.direct;
  const rows: string[] = [];
  const row = (label: string, value: (figures: TargetFigures) => number, digits = 2) => {
    const values = Object.fromEntries(present.map((name) => [name, f[name] ? value(f[name]) : Number.NaN]));
    rows.push(
      `| ${label} | ${present.map((name) => fixed(values[name] ?? Number.NaN, digits)).join(" | ")} | ${ratio(values.sluice ?? Number.NaN, values.forwarder ?? Number.NaN)} | ${ratio(values.sluice ?? Number.NaN, values.portkey ?? Number.NaN)} |`,
    );
  };
  for (const ms of ["0", "50"]) {
    for (const c of ["1", "16", "64"]) {
      for (const p of ["p50", "p90", "p99"] as const) {
        row(
          `added latency ${p}, c=${c}, upstream ${ms} ms (ms)`,
          (x) => (x.latency[ms]?.[c]?.[p] ?? Number.NaN) - (direct?.latency[ms]?.[c]?.[p] ?? Number.NaN),
        );
      }
    }
  }
  row("throughput at c=64 (req/s)", (x) => x.throughputRps, 0);
  row("stream: time to first byte added (ms)", (x) => x.stream.ttfbMs - (direct?.stream.ttfbMs ?? Number.NaN));
  row(`stream: inter-chunk gap error p99 (ms, sent every ${result.stream.intervalMs} ms)`, (x) => x.stream.gapP99Ms);
  row("stream: share of streams with every chunk", (x) => x.stream.complete / x.stream.total);
  row("gateway process CPU per request (ms)", (x) => x.cpuMsPerRequest, 3);
  row("peak memory of the gateway process (MiB)", (x) => x.peakMemoryMiB, 0);
  row("failed requests (all runs)", (x) => x.errors, 0);

  const sluice = f.sluice;
  const forwarder = f.forwarder;
  const added = (x: TargetFigures | undefined, p: "p50" | "p99") => x?.latency["0"]?.["1"]?.[p] ?? Number.NaN;
  const overForwarder = (p: "p50" | "p99") => added(sluice, p) - added(forwarder, p);
  const ttfbOverForwarder = (sluice?.stream.ttfbMs ?? Number.NaN) - (forwarder?.stream.ttfbMs ?? Number.NaN);
  const throughputShare = (sluice?.throughputRps ?? Number.NaN) / (forwarder?.throughputRps ?? Number.NaN);
  const trips = result.roundTrips;
  const verdict = (ok: boolean) => (ok ? "pass" : "**miss**");
  const cpuShare = (sluice?.cpuMsPerRequest ?? Number.NaN) / (forwarder?.cpuMsPerRequest ?? Number.NaN);
  const portkeyRps = f.portkey?.throughputRps ?? Number.NaN;
  const remote = result.remoteStores;
  const targets = [
    [
      "gateway CPU per request, share of the forwarder's",
      `${fixed(cpuShare, 2)}× (${fixed(sluice?.cpuMsPerRequest ?? Number.NaN, 3)} vs ${fixed(forwarder?.cpuMsPerRequest ?? Number.NaN, 3)} ms)`,
      "≤ 2×",
      verdict(cpuShare <= 2),
    ],
    [
      "throughput at c=64 against Portkey's",
      `${fixed(sluice?.throughputRps ?? Number.NaN, 0)} vs ${fixed(portkeyRps, 0)} req/s`,
      "≥ Portkey",
      verdict((sluice?.throughputRps ?? 0) >= portkeyRps),
    ],
    [
      "added latency over the bare forwarder, p50, c=1",
      `${fixed(overForwarder("p50"))} ms`,
      "≤ 0.5 ms",
      verdict(overForwarder("p50") <= 0.5),
    ],
    [
      "added latency over the bare forwarder, p99, c=1",
      `${fixed(overForwarder("p99"))} ms`,
      "≤ 2 ms",
      verdict(overForwarder("p99") <= 2),
    ],
    [
      `stream first byte added over the forwarder, stores ${remote.latencyMs} ms away, upstream ${remote.upstreamFirstByteMs} ms`,
      `${fixed(remote.sluiceTtfbAddedMs)} ms`,
      "≤ 2 ms",
      verdict(remote.sluiceTtfbAddedMs <= 2),
    ],
    [
      "Postgres round trips waited on before the upstream call (warm key with headroom)",
      fixed(trips.beforeUpstream.postgres, 0),
      "0",
      verdict(trips.beforeUpstream.postgres === 0),
    ],
    [
      "Redis round trips waited on before the upstream call (warm key with headroom)",
      fixed(trips.beforeUpstream.redis, 0),
      "0",
      verdict(trips.beforeUpstream.redis === 0),
    ],
    [
      "other round trips per request, in parallel or deferred (Postgres / Redis)",
      `${fixed(trips.deferred.postgres, 3)} / ${fixed(trips.deferred.redis, 3)}`,
      "",
      "",
    ],
    ["stream time to first byte added over the forwarder, stores local", `${fixed(ttfbOverForwarder)} ms`, "", ""],
    ["throughput, share of the forwarder's", `${fixed(throughputShare * 100, 0)} %`, "", ""],
    [
      "translation path (Anthropic in) added over passthrough, p50 / p99, c=1",
      `${fixed(added(f["sluice-translated"], "p50") - added(sluice, "p50"))} / ${fixed(added(f["sluice-translated"], "p99") - added(sluice, "p99"))} ms`,
      "",
      "",
    ],
    ...(["c1", "c16"] as const).flatMap((c) => {
      const hits = result.cacheHits?.[c];
      if (!hits) return [];
      return [
        [
          `response cache hit, p50 at ${c.replace("c", "c=")}, beside the forwarder (upstream at 0 / 50 ms)`,
          `${fixed(hits.hitP50Ms)} vs ${fixed(hits.forwarderP50Ms)} / ${fixed(hits.forwarderUpstream50msP50Ms)} ms`,
          "",
          "",
        ],
        [
          `response cache hit, added over the forwarder at once, p50 at ${c.replace("c", "c=")}`,
          `${fixed(hits.hitAddedMs ?? hits.hitP50Ms - hits.forwarderP50Ms)} ms`,
          "",
          "",
        ],
      ];
    }),
    [
      "Worker bundle, gzipped",
      `${fixed(result.bundleGzipKiB, 1)} KiB`,
      "≤ 250 KB",
      verdict(result.bundleGzipKiB * 1024 <= 250_000),
    ],
  ];

  return [
    `Machine: ${result.machine}. Each figure is the median of ${result.runs} runs; added latency is over calling the mock directly.`,
    "",
    `| figure | ${present.join(" | ")} | sluice ÷ forwarder | sluice ÷ portkey |`,
    `|---|${present.map(() => "---:").join("|")}|---:|---:|`,
    ...rows,
    "",
    "| target | measured | goal | |",
    "|---|---:|---:|---|",
    ...targets.map((cells) => `| ${cells.join(" | ")} |`),
  ].join("\n");
}
