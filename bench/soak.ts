// `npm run bench -- --soak [--requests N] [--collect all|worker|none]`: a
// long run of mixed requests (OpenAI format passthrough, Anthropic format
// translated, the Responses API, streams, and upstream failures) through one
// Sluice process and, step by step beside it, the bare forwarder in the same
// runtime, reporting each one's resident memory every 10,000 requests. After
// each reading, every isolate read gets a full collection over the runtime's
// inspector, and its JavaScript heap is read then: each Worker's, and that
// of Miniflare's local queue broker, which runs in Sluice's process here but
// not beside a deployed Worker. So RSS holds what 10,000 requests left on top
// of what the last collection kept, and what grows with the count of
// requests served through collections is a leak. The runtime grows its
// heaps at first too, so the figure is Sluice's slope after warm-up against
// the forwarder's. Results: bench/results/soak.json and a plot,
// bench/results/soak.svg.
import { writeFileSync } from "node:fs";
import { rssMiB } from "./board.ts";
import { heapAfterCollection, inspectorSessions } from "./inspector.ts";
import { runLoad } from "./load.ts";
import { buildWorker, ROOT, startForwarder, startInfra, startSluice, type Target } from "./targets.ts";

const STEP = 10_000;
const CONCURRENCY = 32;
/** The goal: Sluice's slope after warm-up at most the forwarder's plus this, in MiB per 10,000 requests. */
const SLOPE_ALLOWANCE = 0.5;

interface Kind {
  name: string;
  share: number;
  url: (sluice: Target) => string;
  headers: (sluice: Target) => Record<string, string>;
  body: string;
}

const bearer = (sluice: Target) => sluice.headers;
const anthropicHeaders = (sluice: Target) => ({
  "x-api-key": (sluice.headers.authorization ?? "").replace("Bearer ", ""),
  "anthropic-version": "2023-06-01",
});
const messages = [{ role: "user", content: "Soak this gateway, please." }];

const KINDS: Kind[] = [
  {
    name: "chat",
    share: 0.35,
    url: (s) => s.url,
    headers: bearer,
    body: JSON.stringify({ model: "mock-echo", messages }),
  },
  {
    name: "chat, streamed",
    share: 0.15,
    url: (s) => s.url,
    headers: (s) => ({ ...bearer(s), "x-mock-chunks": "8" }),
    body: JSON.stringify({ model: "mock-lorem", max_tokens: 32, stream: true, messages }),
  },
  {
    name: "messages, translated",
    share: 0.2,
    url: (s) => s.url.replace("/v1/chat/completions", "/v1/messages"),
    headers: anthropicHeaders,
    body: JSON.stringify({ model: "mock-echo", max_tokens: 64, messages }),
  },
  {
    name: "responses, streamed",
    share: 0.2,
    url: (s) => s.url.replace("/v1/chat/completions", "/v1/responses"),
    headers: (s) => ({ ...bearer(s), "x-mock-chunks": "4" }),
    body: JSON.stringify({ model: "mock-echo", input: "Soak this gateway, please.", stream: true }),
  },
  {
    name: "upstream failing",
    share: 0.1,
    url: (s) => s.url,
    headers: (s) => ({ ...bearer(s), "x-mock-fail": "503" }),
    body: JSON.stringify({ model: "mock-echo", messages }),
  },
];

type Point = {
  served: number;
  rssMiB: number;
  /** The Worker's isolate: its JavaScript heap after a full collection, and the array buffers it holds outside it (MiB). */
  heapMiB?: number;
  buffersMiB?: number;
  /** Miniflare's queue broker in the same process (Sluice's only), its heap the same way. */
  brokerHeapMiB?: number;
};
type Figure = "rssMiB" | "heapMiB" | "brokerHeapMiB";

/** Least-squares growth of a figure (RSS unless told) over the points served from `from` on, in MiB per 10,000 requests. */
function slopePer10k(points: Point[], from: number, figure: Figure = "rssMiB"): number {
  const used = points.filter((p) => p.served >= from && p[figure] !== undefined);
  if (used.length < 2) return Number.NaN;
  const y = (p: Point) => p[figure] ?? 0;
  const meanX = used.reduce((sum, p) => sum + p.served, 0) / used.length;
  const meanY = used.reduce((sum, p) => sum + y(p), 0) / used.length;
  const covariance = used.reduce((sum, p) => sum + (p.served - meanX) * (y(p) - meanY), 0);
  const variance = used.reduce((sum, p) => sum + (p.served - meanX) ** 2, 0);
  return (covariance / variance) * 10_000;
}

const COLORS: Record<string, string> = { sluice: "#1f6feb", forwarder: "#8c959f" };

function plot(series: { name: string; points: Point[] }[]): string {
  const width = 640;
  const height = 280;
  const pad = { left: 56, right: 16, top: 20, bottom: 40 };
  const all = series.flatMap((s) => s.points);
  const maxX = Math.max(...all.map((p) => p.served));
  const maxY = Math.ceil((Math.max(...all.map((p) => p.rssMiB)) * 1.2) / 50) * 50;
  const x = (v: number) => pad.left + (v / maxX) * (width - pad.left - pad.right);
  const y = (v: number) => height - pad.bottom - (v / maxY) * (height - pad.top - pad.bottom);
  const yTicks = [0, maxY / 2, maxY].map(
    (v) =>
      `<text x="${pad.left - 8}" y="${y(v) + 4}" text-anchor="end">${v}</text><line x1="${pad.left}" x2="${width - pad.right}" y1="${y(v)}" y2="${y(v)}" stroke="#d0d7de"/>`,
  );
  const xTicks = [0, maxX / 2, maxX].map(
    (v) => `<text x="${x(v)}" y="${height - pad.bottom + 18}" text-anchor="middle">${Math.round(v / 1000)}k</text>`,
  );
  const lines = series.map(({ name, points }, i) => {
    const color = COLORS[name] ?? "#000";
    const line = points.map((p) => `${x(p.served).toFixed(1)},${y(p.rssMiB).toFixed(1)}`).join(" ");
    return `<polyline fill="none" stroke="${color}" stroke-width="2" points="${line}"/>
${points.map((p) => `<circle cx="${x(p.served).toFixed(1)}" cy="${y(p.rssMiB).toFixed(1)}" r="3" fill="${color}"/>`).join("\n")}
<text x="${pad.left + 12}" y="${pad.top + 14 + i * 16}" fill="${color}">${name}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12" fill="#57606a">
<rect width="100%" height="100%" fill="#fff"/>
${yTicks.join("\n")}
${xTicks.join("\n")}
<text x="${width / 2}" y="${height - 6}" text-anchor="middle">requests served</text>
<text x="14" y="${height / 2}" transform="rotate(-90 14 ${height / 2})" text-anchor="middle">gateway RSS (MiB)</text>
${lines.join("\n")}
</svg>
`;
}

interface Series {
  name: "sluice" | "forwarder";
  target: Target;
  inspectorPort: number;
  points: Point[];
  errors: Record<string, number>;
  busyMs: number;
}

/** One step of the mix through a target: each kind's share of `step` requests. */
async function runStep(series: Series, step: number): Promise<void> {
  const started = performance.now();
  for (const kind of KINDS) {
    const result = await runLoad({
      url: kind.url(series.target),
      headers: kind.headers(series.target),
      body: kind.body,
      concurrency: CONCURRENCY,
      requests: Math.round(step * kind.share),
      timeLimitMs: 600_000,
    });
    // Failures by design (the failing upstream) are answered 502s (503s through the forwarder); any other kind should have none.
    series.errors[kind.name] = (series.errors[kind.name] ?? 0) + result.errors;
  }
  series.busyMs += performance.now() - started;
}

/**
 * `--collect all|worker|none`: which isolates get a full collection (and a
 * heap reading) at every step: every one the heap columns name (the
 * default), only each Worker's own, or none, which leaves collection to the
 * runtime alone and reads RSS only.
 */
const COLLECT = (() => {
  const at = process.argv.indexOf("--collect");
  const value = at >= 0 ? process.argv[at + 1] : "all";
  if (value !== "all" && value !== "worker" && value !== "none") throw new Error("--collect takes all, worker or none");
  return value;
})();

const SLUICE_INSPECTOR = 9351;
const FORWARDER_INSPECTOR = 9352;

/** A request that wakes a target's isolates: the Worker's, and (for Sluice) the queue broker's when it has records. */
const poke = (target: Target) =>
  fetch(target.url, { method: "POST", headers: { ...target.headers, "content-type": "application/json" }, body: KINDS[0]?.body })
    .then((response) => response.arrayBuffer())
    .catch(() => undefined);

/** A target's figures now: RSS first, so the collection the heap reading asks for does not touch it. */
async function pointOf(series: Series, served: number): Promise<Point> {
  const point: Point = { served, rssMiB: rssMiB(series.target.pids) };
  if (COLLECT === "none") return point;
  // Sessions are opened for the reading and closed after it: one left open would keep what the isolate logs.
  const sessions = await inspectorSessions(
    series.inspectorPort,
    (title) => title.includes("core:user") || (COLLECT === "all" && title.includes("queues:")),
  );
  try {
    for (const session of sessions) {
      const heap = await heapAfterCollection(session, () => poke(series.target));
      if (!heap) continue;
      if (session.title.includes("core:user")) {
        point.heapMiB = heap.usedMiB;
        point.buffersMiB = heap.backingMiB;
      } else point.brokerHeapMiB = (point.brokerHeapMiB ?? 0) + heap.usedMiB + heap.backingMiB;
    }
  } finally {
    for (const session of sessions) session.close();
  }
  return point;
}

export async function soak(total: number): Promise<void> {
  const bundle = buildWorker();
  const { infra, stop } = await startInfra();
  const sluice = await startSluice(infra, bundle.path, { inspectorPort: SLUICE_INSPECTOR });
  const forwarder = await startForwarder(infra, { inspectorPort: FORWARDER_INSPECTOR });
  const seriesOf = async (target: Target, inspectorPort: number): Promise<Series> => {
    const series: Series = { name: target.name as Series["name"], target, inspectorPort, points: [], errors: {}, busyMs: 0 };
    series.points.push(await pointOf(series, 0));
    return series;
  };
  const ours = await seriesOf(sluice, SLUICE_INSPECTOR);
  const floor = await seriesOf(forwarder, FORWARDER_INSPECTOR);
  const all = [ours, floor];
  try {
    // Step by step, one target then the other, so a busy moment on the machine lands on both.
    for (let served = 0; served < total; ) {
      const step = Math.min(STEP, total - served);
      served += step;
      for (const series of all) {
        await runStep(series, step);
        series.points.push(await pointOf(series, served));
      }
      console.error(
        `soak: ${served} served, RSS ${all.map((s) => `${s.name} ${s.points.at(-1)?.rssMiB.toFixed(0)} MiB`).join(", ")}`,
      );
    }
    // Warm-up is the first quarter: the runtime grows its heaps there whatever it runs.
    const warmUp = Math.round(total / 4 / STEP) * STEP;
    const slopes = Object.fromEntries(all.map((s) => [s.name, slopePer10k(s.points, warmUp)])) as Record<Series["name"], number>;
    const pass = slopes.sluice <= slopes.forwarder + SLOPE_ALLOWANCE;
    const heapSlopes = {
      sluice: slopePer10k(ours.points, warmUp, "heapMiB"),
      forwarder: slopePer10k(floor.points, warmUp, "heapMiB"),
      broker: slopePer10k(ours.points, warmUp, "brokerHeapMiB"),
    };
    const result = {
      date: new Date().toISOString(),
      requests: total,
      concurrency: CONCURRENCY,
      kinds: KINDS.map(({ name, share }) => ({ name, share })),
      warmUpRequests: warmUp,
      collected: COLLECT,
      targets: Object.fromEntries(
        all.map((s) => [
          s.name,
          { durationS: s.busyMs / 1000, rssMiB: s.points, slopeMiBPer10kAfterWarmUp: slopes[s.name], errorsByKind: s.errors },
        ]),
      ),
      heapSlopesMiBPer10kAfterWarmUp: heapSlopes,
      goal: { slopeOverForwarderMiBPer10k: SLOPE_ALLOWANCE, pass },
    };
    writeFileSync(`${ROOT}bench/results/soak.json`, `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(`${ROOT}bench/results/soak.svg`, plot(all));
    const mib = (value: number | undefined, digits = 1) => (value === undefined ? "–" : value.toFixed(digits));
    console.log(
      "| requests served | sluice RSS (MiB) | forwarder RSS (MiB) | sluice isolate heap (MiB) | its buffers (MiB) | queue broker heap (MiB) | forwarder isolate heap (MiB) |\n|---:|---:|---:|---:|---:|---:|---:|",
    );
    for (const [i, p] of ours.points.entries()) {
      const f = floor.points[i];
      console.log(
        `| ${p.served} | ${mib(p.rssMiB, 0)} | ${mib(f?.rssMiB, 0)} | ${mib(p.heapMiB)} | ${mib(p.buffersMiB)} | ${mib(p.brokerHeapMiB)} | ${mib(f?.heapMiB)} |`,
      );
    }
    console.log(
      `\nFull collections at each step: ${COLLECT === "all" ? "every isolate read" : COLLECT === "worker" ? "each Worker's isolate only" : "none"}. ` +
        `${total} requests through each, Sluice in ${(ours.busyMs / 1000).toFixed(0)} s, the forwarder in ${(floor.busyMs / 1000).toFixed(0)} s. ` +
        `Slope after the first ${warmUp} (least squares): Sluice ${slopes.sluice.toFixed(2)}, the forwarder ${slopes.forwarder.toFixed(2)} MiB per 10,000 requests; ` +
        `goal at most the forwarder's + ${SLOPE_ALLOWANCE}: ${pass ? "pass" : "miss"}. ` +
        `Heaps after a full collection, the same way: Sluice's isolate ${heapSlopes.sluice.toFixed(2)}, the queue broker's ${heapSlopes.broker.toFixed(2)}, ` +
        `the forwarder's isolate ${heapSlopes.forwarder.toFixed(2)} MiB per 10,000 requests. ` +
        `Errors by kind: Sluice ${JSON.stringify(ours.errors)}, the forwarder ${JSON.stringify(floor.errors)}`,
    );
  } finally {
    await Promise.all(all.map((s) => s.target.close()));
    stop();
  }
}
