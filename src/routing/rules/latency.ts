// How fast and how reliable each model has been lately, as this isolate saw
// its routed requests: a peak-sensitive moving average of the time to the
// answer's first byte, and a moving average of failures. In memory only, so
// `fastest` costs no round trip; each isolate learns from its own traffic.
import { IsolateCache } from "../../isolate-cache.ts";
import type { ModelHealth } from "./evaluate.ts";

/** How much one sample moves the averages. */
const LATENCY_WEIGHT = 0.3;
const ERROR_WEIGHT = 0.5;
/** A model unheard of for this long is measured afresh. */
const FORGET_AFTER_MS = 10 * 60_000;

export class ModelLatency {
  private readonly seen = new IsolateCache<ModelHealth>(1000, FORGET_AFTER_MS);

  health(model: string): ModelHealth | undefined {
    return this.seen.get(model);
  }

  /** An answer that began after this many ms. A slower one than the average counts at once (peak), a faster one gradually. */
  recordSuccess(model: string, ms: number): void {
    const was = this.seen.get(model);
    if (!was) {
      this.seen.set(model, { latencyMs: ms, errorRate: 0, samples: 1 });
      return;
    }
    const latencyMs = ms > was.latencyMs ? ms : was.latencyMs + LATENCY_WEIGHT * (ms - was.latencyMs);
    this.seen.set(model, { latencyMs, errorRate: was.errorRate * (1 - ERROR_WEIGHT), samples: was.samples + 1 });
  }

  /** An attempt that failed (an error status, a timeout, no connection); its latency says nothing. */
  recordFailure(model: string): void {
    const was = this.seen.get(model);
    if (!was) {
      this.seen.set(model, { latencyMs: 0, errorRate: 1, samples: 1 });
      return;
    }
    const errorRate = was.errorRate + ERROR_WEIGHT * (1 - was.errorRate);
    this.seen.set(model, { ...was, errorRate, samples: was.samples + 1 });
  }
}

/** The isolate's one view of models' latency. */
export const modelLatency = new ModelLatency();
