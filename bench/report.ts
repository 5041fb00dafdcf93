// Renders benchmark results as markdown: the figures side by side, ratios,
// and the targets met or missed.
import { FRONTIER_P99_MS } from "./board.ts";
import type { BoardResult, RoundTripFigures, TargetFigures } from "./run.ts";

export interface BenchResult {
  date: string;
  machine: string;
  runs: number;
  stream: { chunks: number; intervalMs: number };
  bundleGzipKiB: number;
  roundTrips?: RoundTripFigures;
  remoteStores?: {
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
  board?: BoardResult;
}

const COLUMNS = [
  "direct",
  "forwarder",
  "sluice",
  "sluice-translated",
  "sluice-traced",
  "sluice-stream-usage",
  "portkey",
] as const;
const fixed = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : "–");
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(2)}×` : "–");

export function renderTable(result: BenchResult): string {
  const header = `Machine: ${result.machine}. Each figure is the median of ${result.runs} runs; added latency is over calling the mock directly.`;
  const tables = [header];
  if (result.roundTrips && result.remoteStores) tables.push(renderClassic(result, result.roundTrips, result.remoteStores));
  if (result.board) tables.push(renderBoard(result, result.board));
  return tables.join("\n\n");
}

function renderClassic(result: BenchResult, trips: RoundTripFigures, remote: NonNullable<BenchResult["remoteStores"]>): string {
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
  row(`gateway process CPU per stream of ${result.stream.chunks} chunks (ms)`, (x) => x.cpuMsPerStream ?? Number.NaN, 2);
  row("peak memory of the gateway process (MiB)", (x) => x.peakMemoryMiB, 0);
  row("failed requests (all runs)", (x) => x.errors, 0);

  const sluice = f.sluice;
  const forwarder = f.forwarder;
  const added = (x: TargetFigures | undefined, p: "p50" | "p99") => x?.latency["0"]?.["1"]?.[p] ?? Number.NaN;
  const overForwarder = (p: "p50" | "p99") => added(sluice, p) - added(forwarder, p);
  const ttfbOverForwarder = (sluice?.stream.ttfbMs ?? Number.NaN) - (forwarder?.stream.ttfbMs ?? Number.NaN);
  const throughputShare = (sluice?.throughputRps ?? Number.NaN) / (forwarder?.throughputRps ?? Number.NaN);
  const verdict = (ok: boolean) => (ok ? "pass" : "**miss**");
  const cpuShare = (sluice?.cpuMsPerRequest ?? Number.NaN) / (forwarder?.cpuMsPerRequest ?? Number.NaN);
  const portkeyRps = f.portkey?.throughputRps ?? Number.NaN;
  const translated = f["sluice-translated"];
  /** A column's own CPU: its figure less the forwarder's of the same run. */
  const own = (x: TargetFigures | undefined) => (x?.cpuMsPerRequest ?? Number.NaN) - (forwarder?.cpuMsPerRequest ?? Number.NaN);
  const streamShare = (x: TargetFigures | undefined) =>
    (x?.cpuMsPerStream ?? Number.NaN) / (forwarder?.cpuMsPerStream ?? Number.NaN);
  const targets = [
    [
      "Sluice's own CPU per request (less the forwarder's), passthrough, every check on",
      `${fixed(own(sluice), 3)} ms`,
      "≤ 0.25 ms",
      verdict(own(sluice) <= 0.25),
    ],
    [
      "translated (Anthropic in): own CPU per request over passthrough's",
      `${fixed(own(translated) - own(sluice), 3)} ms`,
      "≤ 0.1 ms",
      verdict(own(translated) - own(sluice) <= 0.1),
    ],
    ...(
      [
        ["passthrough", sluice],
        ["translated", translated],
        ...(f["sluice-stream-usage"] ? [["passthrough, STREAM_USAGE=always", f["sluice-stream-usage"]] as const] : []),
      ] as const
    ).map(([path, x]) => [
      `CPU of a ${result.stream.chunks}-chunk stream against the forwarder's, ${path}`,
      `${fixed(streamShare(x), 2)}× (${fixed(x?.cpuMsPerStream ?? Number.NaN)} vs ${fixed(forwarder?.cpuMsPerStream ?? Number.NaN)} ms)`,
      "≤ 1.25×",
      verdict(streamShare(x) <= 1.25),
    ]),
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
    ["Worker bundle, gzipped", `${fixed(result.bundleGzipKiB, 1)} KiB`, "≤ 300 KiB", verdict(result.bundleGzipKiB <= 300)],
  ];

  return [
    `| figure | ${present.join(" | ")} | sluice ÷ forwarder | sluice ÷ portkey |`,
    `|---|${present.map(() => "---:").join("|")}|---:|---:|`,
    ...rows,
    "",
    "| target | measured | goal | |",
    "|---|---:|---:|---|",
    ...targets.map((cells) => `| ${cells.join(" | ")} |`),
  ].join("\n");
}

const BOARD_COLUMNS = COLUMNS;

/** The figures the public board publishes, beside the baselines measured in the same run. */
export function renderBoard(result: BenchResult, board: BoardResult): string {
  const present = BOARD_COLUMNS.filter((name) => board.frontier[name] ?? board.streams[name] ?? result.figures[name]);
  const rows: string[] = [];
  const row = (label: string, value: (name: string) => string) =>
    rows.push(`| ${label} | ${present.map((name) => value(name)).join(" | ")} |`);
  const num = (value: number | undefined, digits = 0) => fixed(value ?? Number.NaN, digits);

  // Added p99 at c=1 over the direct call: from the main runs when they ran, else the sweep's c=1 level.
  const p99AtC1 = (name: string) =>
    result.figures[name]?.latency["0"]?.["1"]?.p99 ?? board.frontier[name]?.sweep.find((l) => l.concurrency === 1)?.p99Ms;
  const directP99 = p99AtC1("direct") ?? Number.NaN;
  row("added latency p99, c=1, over the direct call (µs)", (name) =>
    name === "direct" ? "0" : num(((p99AtC1(name) ?? Number.NaN) - directP99) * 1000),
  );
  for (const ms of FRONTIER_P99_MS) {
    row(`throughput frontier: most req/s with p99 < ${ms} ms`, (name) => num(board.frontier[name]?.best[String(ms)]));
  }
  row("throughput frontier: sweep (c: req/s @ p99 ms)", (name) =>
    (board.frontier[name]?.sweep ?? [])
      .map((l) => `${l.concurrency}: ${l.rps.toFixed(0)} @ ${l.p99Ms.toFixed(1)}${l.errors ? ` (${l.errors} failed)` : ""}`)
      .join("<br>"),
  );
  const anyStreams = Object.values(board.streams)[0];
  if (anyStreams) {
    const stall = anyStreams.intervalMs * 10;
    row(`concurrent streams sustained (every frame, no stall > ${stall} ms; ${anyStreams.chunks} chunks)`, (name) =>
      num(board.streams[name]?.maxStreams),
    );
    row("frames/s at that many streams", (name) => num(board.streams[name]?.framesPerS));
    row("streams: per level (c: whole / total, worst gap ms)", (name) =>
      (board.streams[name]?.levels ?? [])
        .map((l) => `${l.concurrency}: ${l.sustained}/${l.total}, ${l.worstGapMs.toFixed(0)}`)
        .join("<br>"),
    );
  }
  row("RSS idle (MiB)", (name) => num(board.memory[name]?.idleMiB));
  row("RSS steady state, or last reading when never steady (MiB)", (name) => {
    const m = board.memory[name];
    return m ? `${m.steadyMiB.toFixed(0)}${m.steady ? "" : " (not steady)"}` : "–";
  });
  row("RSS growth over the last batches (MiB per 10k requests)", (name) => num(board.memory[name]?.growthMiBPer10k, 1));
  row("RSS recovered after a quiet pause (MiB)", (name) => num(board.memory[name]?.recoveredMiB));
  for (const size of Object.keys(board.largeBodies.sluice?.sizes ?? {})) {
    row(`${size} prompt, p50 at c=1 (ms)`, (target) => num(board.largeBodies[target]?.sizes[size]?.p50Ms, 2));
    row(`${size} prompt, process CPU per request (ms)`, (target) =>
      num(board.largeBodies[target]?.sizes[size]?.cpuMsPerRequest, 2),
    );
  }
  row("cold start: runtime up (ms)", (name) => num(board.coldStart[name]?.readyMs, 1));
  row("cold start: first request answered after (ms)", (name) => num(board.coldStart[name]?.firstRequestMs, 1));
  row("cold start: fresh isolate to first answer (ms)", (name) => num(board.coldStart[name]?.totalMs, 1));

  // Sluice's own CPU per MiB of prompt: its CPU minus the forwarder's, the growth from the smallest body to each size.
  const own = (target: string, size: string) =>
    (board.largeBodies[target]?.sizes[size]?.cpuMsPerRequest ?? Number.NaN) -
    (board.largeBodies.forwarder?.sizes[size]?.cpuMsPerRequest ?? Number.NaN);
  const sizes = Object.entries(board.largeBodies.sluice?.sizes ?? {});
  const [smallest] = sizes;
  const perMiB = sizes.slice(1).flatMap(([size, figures]) =>
    ["sluice", "sluice-translated"].map((target) => {
      const growth = own(target, size) - own(target, smallest?.[0] ?? "");
      const mib = (figures.bytes - (smallest?.[1].bytes ?? 0)) / 2 ** 20;
      return `| Sluice's own CPU per MiB of prompt, ${target === "sluice" ? "passthrough" : "translated"}, up to ${size} | ${fixed(growth / mib, 2)} ms | ≤ 3 ms | ${growth / mib <= 3 ? "pass" : "**miss**"} |`;
    }),
  );

  return [
    "On the board's terms (one concurrency sweep; streams stepped up until one breaks; memory under batches of load):",
    "",
    `| figure | ${present.join(" | ")} |`,
    `|---|${present.map(() => "---:").join("|")}|`,
    ...rows,
    "",
    "| target | measured | goal | |",
    "|---|---:|---:|---|",
    ...perMiB,
    memorySlope(board),
    `| Worker bundle, gzipped | ${fixed(result.bundleGzipKiB, 1)} KiB | ≤ 300 KiB | ${result.bundleGzipKiB <= 300 ? "pass" : "**miss**"} |`,
  ].join("\n");
}

/** Sluice's RSS growth after warm-up beside the forwarder's, both from the memory section of the same run. */
function memorySlope(board: BoardResult): string {
  const sluice = board.memory.sluice;
  const forwarder = board.memory.forwarder;
  const over = (sluice?.growthMiBPer10k ?? Number.NaN) - (forwarder?.growthMiBPer10k ?? Number.NaN);
  const measured = `${fixed(sluice?.growthMiBPer10k ?? Number.NaN, 1)} vs ${fixed(forwarder?.growthMiBPer10k ?? Number.NaN, 1)} MiB per 10k`;
  return `| RSS growth after warm-up, over the forwarder's | ${measured} | ≤ +0.5 MiB per 10k | ${over <= 0.5 ? "pass" : "**miss**"} |`;
}
