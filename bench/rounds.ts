// One round of load through a target, costed as the process CPU it took per
// request or per stream, deferred work included: what `bench:ab` and
// `bench:floor` compare builds and Workers by, in alternating rounds.
import { runLoad, runStreams } from "./load.ts";
import { cpuMs, type Target } from "./targets.ts";

/** The rounds' streams: 64 chunks 2 ms apart, eight at a time. */
export const ROUND_STREAM = { chunks: 64, intervalMs: 2, concurrency: 8 };

/** Streams, or requests one at a time with this body (and headers beside the target's own). */
export type RoundLoad = { streams: true } | { streams: false; body: string; headers?: Record<string, string> };

export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

export async function cpuPerRound(target: Target, count: number, load: RoundLoad): Promise<number> {
  const before = cpuMs(target.pids);
  let served: number;
  if (load.streams) {
    const result = await runStreams({
      url: target.url,
      headers: {
        ...target.headers,
        "x-mock-tokens": String(ROUND_STREAM.chunks),
        "x-mock-chunks": String(ROUND_STREAM.chunks),
        "x-mock-interval-ms": String(ROUND_STREAM.intervalMs),
      },
      body:
        target.bodies?.streamed ??
        JSON.stringify({ model: "mock-lorem", stream: true, messages: [{ role: "user", content: "Stream for me." }] }),
      concurrency: ROUND_STREAM.concurrency,
      requests: count,
      timeLimitMs: 120_000,
      expectedEvents: ROUND_STREAM.chunks + 3,
      pacedEvents: ROUND_STREAM.chunks,
      pacedFrom: target.pacedFrom ?? 0,
      intervalMs: ROUND_STREAM.intervalMs,
    });
    if (result.complete < result.total) throw new Error(`${target.name}: ${result.total - result.complete} streams cut short`);
    served = result.total;
  } else {
    const result = await runLoad({
      url: target.url,
      headers: { ...target.headers, ...load.headers },
      body: load.body,
      concurrency: 1,
      requests: count,
      timeLimitMs: 120_000,
    });
    if (result.errors > 0) throw new Error(`${target.name}: ${result.errors} requests failed`);
    served = result.latenciesMs.length;
  }
  // Deferred work (a usage record, a settlement) is counted once it has had time to run.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  return (cpuMs(target.pids) - before) / served;
}
