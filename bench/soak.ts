// `npm run bench -- --soak [--requests N]`: a long run of mixed requests
// through one Sluice process (OpenAI format passthrough, Anthropic format
// translated, the Responses API, streams, and upstream failures), reporting
// the gateway's resident memory every 10,000 requests. Flat is the goal: what
// grows with the count of requests served is a leak. Results:
// bench/results/soak.json and a plot, bench/results/soak.svg.
import { readFileSync, writeFileSync } from "node:fs";
import { runLoad } from "./load.ts";
import { buildWorker, ROOT, startInfra, startSluice, type Target } from "./targets.ts";

const STEP = 10_000;
const CONCURRENCY = 32;

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

function plot(points: { served: number; rssMiB: number }[]): string {
  const width = 640;
  const height = 280;
  const pad = { left: 56, right: 16, top: 20, bottom: 40 };
  const maxX = Math.max(...points.map((p) => p.served));
  const maxY = Math.ceil((Math.max(...points.map((p) => p.rssMiB)) * 1.2) / 50) * 50;
  const x = (v: number) => pad.left + (v / maxX) * (width - pad.left - pad.right);
  const y = (v: number) => height - pad.bottom - (v / maxY) * (height - pad.top - pad.bottom);
  const line = points.map((p) => `${x(p.served).toFixed(1)},${y(p.rssMiB).toFixed(1)}`).join(" ");
  const yTicks = [0, maxY / 2, maxY].map(
    (v) =>
      `<text x="${pad.left - 8}" y="${y(v) + 4}" text-anchor="end">${v}</text><line x1="${pad.left}" x2="${width - pad.right}" y1="${y(v)}" y2="${y(v)}" stroke="#d0d7de"/>`,
  );
  const xTicks = [0, maxX / 2, maxX].map(
    (v) => `<text x="${x(v)}" y="${height - pad.bottom + 18}" text-anchor="middle">${Math.round(v / 1000)}k</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12" fill="#57606a">
<rect width="100%" height="100%" fill="#fff"/>
${yTicks.join("\n")}
${xTicks.join("\n")}
<text x="${width / 2}" y="${height - 6}" text-anchor="middle">requests served</text>
<text x="14" y="${height / 2}" transform="rotate(-90 14 ${height / 2})" text-anchor="middle">gateway RSS (MiB)</text>
<polyline fill="none" stroke="#1f6feb" stroke-width="2" points="${line}"/>
${points.map((p) => `<circle cx="${x(p.served).toFixed(1)}" cy="${y(p.rssMiB).toFixed(1)}" r="3" fill="#1f6feb"/>`).join("\n")}
</svg>
`;
}

export async function soak(total: number): Promise<void> {
  const bundle = buildWorker();
  const { infra, stop } = await startInfra();
  const sluice = await startSluice(infra, bundle.path);
  try {
    const points = [{ served: 0, rssMiB: rssMiB(sluice.pids) }];
    const errors: Record<string, number> = {};
    const started = performance.now();
    for (let served = 0; served < total; ) {
      const step = Math.min(STEP, total - served);
      for (const kind of KINDS) {
        const requests = Math.round(step * kind.share);
        const result = await runLoad({
          url: kind.url(sluice),
          headers: kind.headers(sluice),
          body: kind.body,
          concurrency: CONCURRENCY,
          requests,
          timeLimitMs: 600_000,
        });
        // Failures by design (the failing upstream) are answered 502s; any other kind should have none.
        errors[kind.name] = (errors[kind.name] ?? 0) + result.errors;
      }
      served += step;
      points.push({ served, rssMiB: rssMiB(sluice.pids) });
      console.error(`soak: ${served} served, gateway RSS ${points.at(-1)?.rssMiB.toFixed(0)} MiB`);
    }
    const first = points[1]?.rssMiB ?? Number.NaN;
    const last = points.at(-1)?.rssMiB ?? Number.NaN;
    const result = {
      date: new Date().toISOString(),
      requests: total,
      concurrency: CONCURRENCY,
      kinds: KINDS.map(({ name, share }) => ({ name, share })),
      durationS: (performance.now() - started) / 1000,
      rssMiB: points,
      growthAfterFirstStepMiB: last - first,
      errorsByKind: errors,
    };
    writeFileSync(`${ROOT}bench/results/soak.json`, `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(`${ROOT}bench/results/soak.svg`, plot(points));
    console.log(`| requests served | gateway RSS (MiB) |\n|---:|---:|`);
    for (const p of points) console.log(`| ${p.served} | ${p.rssMiB.toFixed(0)} |`);
    console.log(
      `\n${total} requests in ${result.durationS.toFixed(0)} s; RSS ${first.toFixed(0)} MiB after the first ${STEP}, ${last.toFixed(0)} MiB at the end (${(last - first).toFixed(0)} MiB of growth). Errors by kind: ${JSON.stringify(errors)}`,
    );
  } finally {
    await sluice.close();
    stop();
  }
}
