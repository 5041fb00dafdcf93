// Load generation over keep-alive HTTP/1.1, bounded in count and time,
// to 127.0.0.1 only.
import { Agent, request as httpRequest } from "node:http";

export interface LoadSpec {
  url: string;
  headers: Record<string, string>;
  body: string;
  concurrency: number;
  requests: number;
  /** Stop early when this much time has passed. */
  timeLimitMs: number;
}

export interface LoadResult {
  latenciesMs: number[];
  errors: number;
  durationMs: number;
}

export interface StreamResult {
  ttfbMs: number[];
  /** |observed gap − sent gap| for every consecutive pair of events. */
  gapErrorsMs: number[];
  complete: number;
  total: number;
  /** Per stream: the longest gap between consecutive events, from the first paced event on. */
  maxGapsMs: number[];
  /** Streams with every event and no gap longer than `stallMs` (when given). */
  sustained: number;
  /** Events received over every stream. */
  events: number;
  durationMs: number;
}

function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (host !== "127.0.0.1" && host !== "localhost") throw new Error(`benchmarks only target loopback, not ${host}`);
}

interface Exchange {
  status: number;
  startedAt: number;
  firstByteAt: number;
  /** Arrival time of each complete SSE event. */
  eventTimes: number[];
  endedAt: number;
}

function exchange(agent: Agent, spec: Pick<LoadSpec, "url" | "headers" | "body">): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    const url = new URL(spec.url);
    const req = httpRequest(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: "POST",
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(spec.body), ...spec.headers },
      },
      (res) => {
        let firstByteAt = 0;
        const eventTimes: number[] = [];
        let pending = "";
        res.setEncoding("utf8");
        res.on("data", (text: string) => {
          const now = performance.now();
          if (!firstByteAt) firstByteAt = now;
          pending += text;
          let boundary = pending.indexOf("\n\n");
          while (boundary !== -1) {
            eventTimes.push(now);
            pending = pending.slice(boundary + 2);
            boundary = pending.indexOf("\n\n");
          }
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, startedAt, firstByteAt, eventTimes, endedAt: performance.now() }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(spec.body);
  });
}

async function drive(spec: LoadSpec, onExchange: (result: Exchange) => void): Promise<{ errors: number; durationMs: number }> {
  assertLoopback(spec.url);
  const agent = new Agent({ keepAlive: true, maxSockets: spec.concurrency });
  const started = performance.now();
  let issued = 0;
  let errors = 0;
  const worker = async () => {
    while (issued < spec.requests && performance.now() - started < spec.timeLimitMs) {
      issued += 1;
      try {
        const result = await exchange(agent, spec);
        if (result.status !== 200) errors += 1;
        else onExchange(result);
      } catch {
        errors += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, worker));
  agent.destroy();
  return { errors, durationMs: performance.now() - started };
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  const { errors, durationMs } = await drive(spec, (result) => latenciesMs.push(result.endedAt - result.startedAt));
  return { latenciesMs, errors, durationMs };
}

export interface StreamSpec extends LoadSpec {
  /** Events a whole stream has at least: role, content, finish, [DONE]. */
  expectedEvents: number;
  /** Content events, each sent `intervalMs` after the one before. */
  pacedEvents: number;
  /** Index of the first paced event. */
  pacedFrom: number;
  intervalMs: number;
  /** A gap between events longer than this is a stall. */
  stallMs?: number;
}

export async function runStreams(spec: StreamSpec): Promise<StreamResult> {
  const ttfbMs: number[] = [];
  const gapErrorsMs: number[] = [];
  const maxGapsMs: number[] = [];
  let complete = 0;
  let sustained = 0;
  let events = 0;
  let total = 0;
  const { errors, durationMs } = await drive(spec, (result) => {
    total += 1;
    events += result.eventTimes.length;
    ttfbMs.push(result.firstByteAt - result.startedAt);
    const whole = result.eventTimes.length >= spec.expectedEvents;
    if (whole) complete += 1;
    let maxGap = 0;
    for (let i = Math.max(1, spec.pacedFrom + 1); i < result.eventTimes.length; i++) {
      maxGap = Math.max(maxGap, (result.eventTimes[i] ?? 0) - (result.eventTimes[i - 1] ?? 0));
    }
    maxGapsMs.push(maxGap);
    if (whole && (spec.stallMs === undefined || maxGap <= spec.stallMs)) sustained += 1;
    // The role event, then each content event `intervalMs` after the one before.
    // From the first paced event (an OpenAI stream's role chunk is sent on the same beat, so it counts) to the last content event.
    const paced = result.eventTimes.slice(
      spec.pacedFrom,
      spec.pacedFrom === 0 ? spec.pacedEvents + 1 : spec.pacedFrom + spec.pacedEvents,
    );
    for (let i = 1; i < paced.length; i++) {
      gapErrorsMs.push(Math.abs((paced[i] ?? 0) - (paced[i - 1] ?? 0) - spec.intervalMs));
    }
  });
  return { ttfbMs, gapErrorsMs, complete, total: total + errors, maxGapsMs, sustained, events, durationMs };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

export function median(values: number[]): number {
  return percentile(values, 50);
}
