// One request's usage, as the ledger keeps it: flat, so it travels through a
// queue and into a row unchanged.
import type { ErrorShape } from "../formats/index.ts";
import type { TokenCounts } from "./prices.ts";

export interface UsageRecord extends TokenCounts {
  requestId: string;
  principalType: "admin" | "user" | "key";
  principalId: string;
  userId: string | null;
  keyId: string | null;
  teamId: string | null;
  provider: string;
  model: string;
  upstreamModel: string;
  clientFormat: ErrorShape;
  costUsd: number;
  latencyMs: number;
  ttfbMs: number | null;
  status: number;
  error: string | null;
  streamed: boolean;
  attempts: number;
  metadata: Record<string, unknown>;
  /** When the request arrived, ms since the epoch: the row's time, however late it is written. */
  createdAt: number;
}

/** One message on the usage queue: the records an isolate's requests made together. */
export type UsageMessage = UsageRecord[];

/** The producer side of the usage queue (a Workers Queue binding). */
export interface UsageQueue {
  send(message: UsageMessage, options?: { contentType?: "json" | "v8" }): Promise<unknown>;
}
