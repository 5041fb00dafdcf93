// `npm run bench -- --soak [--requests N]`: a long run of mixed requests
// (OpenAI format passthrough, Anthropic format translated, the Responses API,
// streams, and upstream failures) through one Sluice process and, step by
// step beside it, the bare forwarder in the same runtime, reporting each one's
// resident memory every 10,000 requests. What grows with the count of
// requests served is a leak; the runtime grows its heaps too, so the figure
// is Sluice's slope after warm-up against the forwarder's. Results:
// bench/results/soak.json and a plot, bench/results/soak.svg.
import { readFileSync, writeFileSync } from "node:fs";
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

/** Resident memory of the processes now, in MiB. */
function rssMiB(pids: number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      kb += Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return kb / 1024;
}

type Point = { served: number; rssMiB: number };

/** Least-squares growth of RSS over the points served from `from` on, in MiB per 10,000 requests. */
function slopePer10k(points: Point[], from: number): number {
  const used = points.filter((p) => p.served >= from);
  if (used.length < 2) return Number.NaN;
  const meanX = used.reduce((sum, p) => sum + p.served, 0) / used.length;
  const meanY = used.reduce((sum, p) => sum + p.rssMiB, 0) / used.length;
  const covariance = used.reduce((sum, p) => sum + (p.served - meanX) * (p.rssMiB - meanY), 0);
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

export async function soak(total: number): Promise<void> {
  const bundle = buildWorker();
  const { infra, stop } = await startInfra();
  const sluice = await startSluice(infra, bundle.path);
  const forwarder = await startForwarder(infra);
  const seriesOf = (target: Target): Series => ({
    name: target.name as Series["name"],
    target,
    points: [{ served: 0, rssMiB: rssMiB(target.pids) }],
    errors: {},
    busyMs: 0,
  });
  const ours = seriesOf(sluice);
  const floor = seriesOf(forwarder);
  const all = [ours, floor];
  try {
    // Step by step, one target then the other, so a busy moment on the machine lands on both.
    for (let served = 0; served < total; ) {
      const step = Math.min(STEP, total - served);
      served += step;
      for (const series of all) {
        await runStep(series, step);
        series.points.push({ served, rssMiB: rssMiB(series.target.pids) });
      }
      console.error(
        `soak: ${served} served, RSS ${all.map((s) => `${s.name} ${s.points.at(-1)?.rssMiB.toFixed(0)} MiB`).join(", ")}`,
      );
    }
    // Warm-up is the first quarter: the runtime grows its heaps there whatever it runs.
    const warmUp = Math.round(total / 4 / STEP) * STEP;
    const slopes = Object.fromEntries(all.map((s) => [s.name, slopePer10k(s.points, warmUp)])) as Record<Series["name"], number>;
    const pass = slopes.sluice <= slopes.forwarder + SLOPE_ALLOWANCE;
    const result = {
      date: new Date().toISOString(),
      requests: total,
      concurrency: CONCURRENCY,
      kinds: KINDS.map(({ name, share }) => ({ name, share })),
      warmUpRequests: warmUp,
      targets: Object.fromEntries(
        all.map((s) => [
          s.name,
          { durationS: s.busyMs / 1000, rssMiB: s.points, slopeMiBPer10kAfterWarmUp: slopes[s.name], errorsByKind: s.errors },
        ]),
      ),
      goal: { slopeOverForwarderMiBPer10k: SLOPE_ALLOWANCE, pass },
    };
    writeFileSync(`${ROOT}bench/results/soak.json`, `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(`${ROOT}bench/results/soak.svg`, plot(all));
    console.log("| requests served | sluice RSS (MiB) | forwarder RSS (MiB) |\n|---:|---:|---:|");
    for (const [i, p] of ours.points.entries()) {
      console.log(`| ${p.served} | ${p.rssMiB.toFixed(0)} | ${floor.points[i]?.rssMiB.toFixed(0)} |`);
    }
    console.log(
      `\n${total} requests through each, Sluice in ${(ours.busyMs / 1000).toFixed(0)} s, the forwarder in ${(floor.busyMs / 1000).toFixed(0)} s. ` +
        `Slope after the first ${warmUp} (least squares): Sluice ${slopes.sluice.toFixed(2)}, the forwarder ${slopes.forwarder.toFixed(2)} MiB per 10,000 requests; ` +
        `goal at most the forwarder's + ${SLOPE_ALLOWANCE}: ${pass ? "pass" : "miss"}. ` +
        `Errors by kind: Sluice ${JSON.stringify(ours.errors)}, the forwarder ${JSON.stringify(floor.errors)}`,
    );
  } finally {
    await Promise.all(all.map((s) => s.target.close()));
    stop();
  }
}
