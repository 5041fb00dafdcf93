// `npm run bench:stalls [-- --warm N --rounds R --forwarder]`: what holds the
// runtime's thread when a stream stalls. Serves N plain requests (40,000 by
// default: the stalls of the board's concurrent-streams figure came only
// after such a load), then the board's stream levels (16, 64 and 256 streams
// of 32 chunks 20 ms apart) while the Worker's isolate is profiled and its
// heap read every 25 ms; R rounds of both. For each level it prints the
// streams that came through without a gap over 200 ms and the worst gap; for
// the round, each stretch of 30 ms or more in which the isolate never went
// idle, with the share of it spent collecting garbage and the functions
// sampled most, and each fall of the heap by more than 5 MiB (a collection).
import { inspector } from "./inspector.ts";
import { runLoad, runStreams } from "./load.ts";
import { buildWorker, option, runBench, startForwarder, startInfra, startSluice } from "./targets.ts";

const INSPECTOR_PORT = 9344;
const LEVELS = [16, 64, 256];
const CHUNKS = 32;
const INTERVAL_MS = 20;
/** A stretch without idle samples this long or longer is printed. */
const BUSY_MS = 30;
/** Samples further apart than this end a stretch: the time between them is unknown. */
const UNSAMPLED_MS = 5;

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/** Stretches of the profile in which the isolate never went idle: when, how long, how much of it collecting. */
function busyStretches(profile: CpuProfile): string[] {
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const lines: string[] = [];
  let at = 0;
  let start = -1;
  let gc = 0;
  let counts = new Map<string, number>();
  const close = (end: number) => {
    if (start < 0) return;
    const length = end - start;
    start = -1;
    if (length < BUSY_MS) return;
    const top = [...counts]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4)
      .map(([key, n]) => `${key}×${n}`)
      .join(", ");
    lines.push(
      `busy ${length.toFixed(0)} ms from +${(end - length).toFixed(0)} ms, collecting ${gc.toFixed(0)} ms of it; most sampled: ${top}`,
    );
  };
  profile.samples.forEach((id, i) => {
    const delta = (profile.timeDeltas[i] ?? 0) / 1000;
    at += delta;
    // A sample long after the one before (the sampler itself kept from the core) says nothing of the time between.
    if (delta > UNSAMPLED_MS) close(at - delta);
    const frame = frames.get(id);
    const name = frame?.functionName ?? "";
    if (name === "(idle)") {
      close(at - delta);
      return;
    }
    const known = delta <= UNSAMPLED_MS;
    if (start < 0) {
      start = known ? at - delta : at;
      gc = 0;
      counts = new Map();
    }
    if (name === "(garbage collector)" && known) gc += delta;
    const key = `${name || "(anonymous)"}:${(frame?.lineNumber ?? 0) + 1}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  });
  close(at);
  return lines;
}

async function main(): Promise<void> {
  const warm = Number(option("warm") ?? 40_000);
  const rounds = Number(option("rounds") ?? 3);
  const { infra, stop } = await startInfra();
  const target = process.argv.includes("--forwarder")
    ? await startForwarder(infra, { inspectorPort: INSPECTOR_PORT })
    : await startSluice(infra, buildWorker({ minify: false }).path, { inspectorPort: INSPECTOR_PORT });
  const plain = JSON.stringify({ model: "mock-echo", messages: [{ role: "user", content: "Warm me." }] });
  const streamed = JSON.stringify({ model: "mock-lorem", stream: true, messages: [{ role: "user", content: "s" }] });
  try {
    for (let round = 1; round <= rounds; round++) {
      const warmed = await runLoad({
        url: target.url,
        headers: target.headers,
        body: plain,
        concurrency: 32,
        requests: warm,
        timeLimitMs: 300_000,
      });
      console.log(`round ${round}: ${warmed.latenciesMs.length} requests first (${warmed.errors} failed)`);
      const session = await inspector(INSPECTOR_PORT);
      const heap: { at: number; usedMiB: number }[] = [];
      let reading = true;
      const started = performance.now();
      const readings = (async () => {
        while (reading) {
          const usage = (await session.send("Runtime.getHeapUsage")) as { usedSize: number };
          heap.push({ at: performance.now() - started, usedMiB: usage.usedSize / 2 ** 20 });
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
      })();
      await session.send("Profiler.enable");
      await session.send("Profiler.setSamplingInterval", { interval: 200 });
      await session.send("Profiler.start");
      for (const concurrency of LEVELS) {
        const from = performance.now() - started;
        const result = await runStreams({
          url: target.url,
          headers: {
            ...target.headers,
            "x-mock-tokens": String(CHUNKS),
            "x-mock-chunks": String(CHUNKS),
            "x-mock-interval-ms": String(INTERVAL_MS),
          },
          body: streamed,
          concurrency,
          requests: concurrency,
          timeLimitMs: 60_000,
          expectedEvents: CHUNKS + 3,
          pacedEvents: CHUNKS,
          pacedFrom: 0,
          intervalMs: INTERVAL_MS,
          stallMs: INTERVAL_MS * 10,
        });
        const worst = Math.max(0, ...result.maxGapsMs);
        console.log(
          `  ${concurrency} streams from +${from.toFixed(0)} ms: ${result.sustained} of ${result.total} without a stall, worst gap ${worst.toFixed(0)} ms`,
        );
      }
      const { profile } = (await session.send("Profiler.stop")) as { profile: CpuProfile };
      reading = false;
      await readings;
      session.close();
      for (const line of busyStretches(profile)) console.log(`  ${line}`);
      for (let i = 1; i < heap.length; i++) {
        const before = heap[i - 1];
        const after = heap[i];
        if (before && after && before.usedMiB - after.usedMiB > 5) {
          console.log(
            `  heap ${before.usedMiB.toFixed(0)} → ${after.usedMiB.toFixed(0)} MiB between +${before.at.toFixed(0)} and +${after.at.toFixed(0)} ms`,
          );
        }
      }
    }
  } finally {
    await target.close();
    stop();
  }
}

runBench(main);
