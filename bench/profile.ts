// `npm run bench:profile [-- --requests N --concurrency C --prompt-kib K --latency-ms L --streams --translated|--forwarder|--admin --allocations --env NAME=value,…]`:
// where Sluice's own CPU goes (or, with --forwarder, the bare forwarder's, for scale). Runs the Worker unminified in workerd with its
// inspector open, drives warm load through it, records a V8 CPU profile over
// the inspector protocol, and prints the functions with the most self time.
// The profile is saved to bench/results/sluice.cpuprofile: open it in
// Chrome DevTools (Performance tab → Load profile) for the flame chart.
import { mkdirSync, writeFileSync } from "node:fs";
import { conversation } from "./board.ts";
import { inspector } from "./inspector.ts";
import { runLoad } from "./load.ts";
import {
  BENCH_ADMIN_KEY,
  bindingsFrom,
  buildWorker,
  cpuMs,
  option,
  ROOT,
  runBench,
  sluiceTranslated,
  startForwarder,
  startInfra,
  startSluice,
} from "./targets.ts";

const argument = (name: string, fallback: number) => Number(option(name) ?? fallback);
const REQUESTS = argument("requests", 3000);
const CONCURRENCY = argument("concurrency", 16);
/** `--prompt-kib N`: a coding agent's conversation of about N KiB as the prompt, instead of one short message. */
const PROMPT_KIB = argument("prompt-kib", 0);
/** `--latency-ms N`: the mock answers after N ms, so a low-rate caller's per-request work (batches of one, timers that fire) shows. */
const LATENCY_MS = argument("latency-ms", 0);
const INSPECTOR_PORT = 9339;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Self time per function (name and source position), in ms, largest first. */
function selfTimes(profile: CpuProfile): { name: string; ms: number }[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const totals = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)?.callFrame;
    if (!frame) return;
    const file = frame.url.split("/").at(-1) ?? "";
    const name = `${frame.functionName || "(anonymous)"} ${file}:${frame.lineNumber + 1}`;
    totals.set(name, (totals.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return [...totals].map(([name, ms]) => ({ name, ms })).sort((a, b) => b.ms - a.ms);
}

interface AllocationNode {
  callFrame: ProfileNode["callFrame"];
  selfSize: number;
  children: AllocationNode[];
}

/**
 * `--allocations`: what the load allocates, by function, in bytes per
 * request: sampled every 4 KiB, objects already collected included, so
 * short-lived garbage (what makes the collector run) counts as much as what
 * lives on. Saved as a .heapprofile (Chrome DevTools → Memory → Load).
 */
async function profileAllocations(
  session: Awaited<ReturnType<typeof inspector>>,
  name: string,
  load: () => Promise<{ latenciesMs: number[] }>,
): Promise<void> {
  await session.send("HeapProfiler.enable");
  await session.send("HeapProfiler.startSampling", {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  const served = (await load()).latenciesMs.length;
  const { profile } = (await session.send("HeapProfiler.stopSampling")) as { profile: { head: AllocationNode } };
  session.close();
  mkdirSync(`${ROOT}bench/results`, { recursive: true });
  writeFileSync(`${ROOT}bench/results/${name}.heapprofile`, JSON.stringify(profile));
  const totals = new Map<string, number>();
  const walk = (node: AllocationNode) => {
    const frame = node.callFrame;
    const key = `${frame.functionName || "(anonymous)"} ${frame.url.split("/").at(-1) ?? ""}:${frame.lineNumber + 1}`;
    totals.set(key, (totals.get(key) ?? 0) + node.selfSize);
    node.children.forEach(walk);
  };
  walk(profile.head);
  const all = [...totals.values()].reduce((sum, bytes) => sum + bytes, 0);
  console.log(`${served} requests at c=${CONCURRENCY}: ${(all / served / 1024).toFixed(1)} KiB allocated per request`);
  console.log("bytes allocated per request, top 40:");
  for (const [key, bytes] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, 40)) {
    console.log(`${(bytes / served).toFixed(0).padStart(8)}  ${key}`);
  }
  console.log(`profile: bench/results/${name}.heapprofile`);
}

async function main(): Promise<void> {
  const bundle = buildWorker({ minify: false });
  const { infra, stop } = await startInfra();
  const sluice = process.argv.includes("--forwarder")
    ? await startForwarder(infra, { inspectorPort: INSPECTOR_PORT })
    : await startSluice(infra, bundle.path, { inspectorPort: INSPECTOR_PORT, bindings: bindingsFrom(option("env")) });
  let target = process.argv.includes("--translated") ? sluiceTranslated(sluice) : sluice;
  // The admin key: no limits, no lease or gate; what the checks themselves cost is the difference.
  if (process.argv.includes("--admin")) target = { ...target, headers: { authorization: `Bearer ${BENCH_ADMIN_KEY}` } };
  try {
    const streams = process.argv.includes("--streams");
    const body = streams
      ? (target.bodies?.streamed ??
        JSON.stringify({ model: "mock-lorem", stream: true, messages: [{ role: "user", content: "Profile me." }] }))
      : PROMPT_KIB > 0
        ? JSON.stringify({
            model: "mock-echo",
            ...(target.name === "sluice-translated" && { max_tokens: 64 }),
            messages: conversation(PROMPT_KIB * 1024),
          })
        : (target.bodies?.plain ?? JSON.stringify({ model: "mock-echo", messages: [{ role: "user", content: "Profile me." }] }));
    // Streams: 64 chunks each, 2 ms apart, so each arrives on its own.
    const latency: Record<string, string> = LATENCY_MS > 0 ? { "x-mock-latency-ms": String(LATENCY_MS) } : {};
    const headers = streams
      ? { ...target.headers, "x-mock-tokens": "64", "x-mock-chunks": "64", "x-mock-interval-ms": "2" }
      : { ...target.headers, ...latency };
    const load = () =>
      runLoad({ url: target.url, headers, body, concurrency: CONCURRENCY, requests: REQUESTS, timeLimitMs: 120_000 });
    await load();
    // CPU from /proc over an unprofiled run first: the profile's own times include waiting for a core.
    const cpuBefore = cpuMs(sluice.pids);
    const plain = await load();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const cpuPerRequest = (cpuMs(sluice.pids) - cpuBefore) / plain.latenciesMs.length;
    console.log(`${plain.latenciesMs.length} requests unprofiled: ${cpuPerRequest.toFixed(3)} ms of process CPU per request`);
    const session = await inspector(INSPECTOR_PORT);
    if (process.argv.includes("--allocations")) {
      await profileAllocations(session, sluice.name, load);
      return;
    }
    await session.send("Profiler.enable");
    await session.send("Profiler.setSamplingInterval", { interval: 50 });
    await session.send("Profiler.start");
    const result = await load();
    const { profile } = (await session.send("Profiler.stop")) as { profile: CpuProfile };
    session.close();
    mkdirSync(`${ROOT}bench/results`, { recursive: true });
    writeFileSync(`${ROOT}bench/results/${sluice.name}.cpuprofile`, JSON.stringify(profile));
    const times = selfTimes(profile);
    const sampled = times.reduce((sum, t) => sum + t.ms, 0);
    const idle = times.filter((t) => t.name.startsWith("(idle)")).reduce((sum, t) => sum + t.ms, 0);
    const served = result.latenciesMs.length;
    console.log(
      `${served} requests (${result.errors} failed) at c=${CONCURRENCY}; JS thread busy ${((sampled - idle) / served).toFixed(3)} ms per request`,
    );
    console.log("self time per request (µs), top 40:");
    for (const t of times.filter((t) => !t.name.startsWith("(idle)")).slice(0, 40)) {
      console.log(`${((t.ms / served) * 1000).toFixed(1).padStart(8)}  ${t.name}`);
    }
    console.log(`profile: bench/results/${sluice.name}.cpuprofile`);
  } finally {
    await sluice.close();
    stop();
  }
}

runBench(main);
