// One request's usage, as the ledger keeps it: flat, so it travels through a
// queue and into a row unchanged.
import type { PrincipalType } from "../auth/principal.ts";
import type { ErrorShape } from "../formats/index.ts";
import type { TokenCounts } from "./prices.ts";

/** The flat counts a record keeps: a call's built-in tool calls go in its metadata, hour-long cache writes too. */
type RecordedCounts = Omit<TokenCounts, "cacheWriteTokens" | "cacheWrite1hTokens" | "toolCalls"> & {
  /** Of the prompt, tokens written to the provider's cache. */
  cacheWriteTokens: number;
};

export interface UsageRecord extends RecordedCounts {
  requestId: string;
  principalType: PrincipalType;
  principalId: string;
  userId: string | null;
  keyId: string | null;
  teamId: string | null;
  /** A guest's app, device and salted network hash; absent on records of other callers (and on ones written before apps). */
  appId?: string | null;
  deviceId?: string | null;
  ipHash?: string | null;
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

/**
 * Names the gateway writes into a record's metadata itself. A key's own
 * metadata travels with its usage too, so it may not use them: a key that
 * says `cache_hit` must not make its paid calls look free to a receiver.
 */
export const GATEWAY_METADATA = [
  "admission",
  "cache_hit",
  "cache_write_1h_tokens",
  "guardrails",
  "media",
  "modality",
  "refused_after_upstream_start",
  "request_log",
  "route",
  "route_arm",
  "route_name",
  "route_reason",
  "timed_out_attempts",
  "tool_calls",
  "tool_fees_usd",
  "unpriced",
  "unpriced_tools",
  "usage_estimated",
] as const;
export type GatewayMetadataName = (typeof GATEWAY_METADATA)[number];

const reserved: ReadonlySet<string> = new Set(GATEWAY_METADATA);
export const isGatewayMetadata = (name: string) => reserved.has(name);

/** A key's metadata without the gateway's names (a key stored before they were refused may have them). */
export const callerMetadata = (metadata: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(metadata).filter(([name]) => !reserved.has(name)));

/**
 * What a call's work was, as its record's `metadata.modality` says: absent
 * for text (chat, completions, responses: every row before modalities were
 * recorded was one), so the usage API reads a missing one as `text`.
 */
export const MODALITIES = ["text", "embedding", "token_count", "audio_in", "audio_out", "image", "moderation"] as const;
export type Modality = (typeof MODALITIES)[number];

/** One message on the usage queue: the records an isolate's requests made together. */
export type UsageMessage = UsageRecord[];

/** The producer side of the usage queue (a Workers Queue binding). */
export interface UsageQueue {
  send(message: UsageMessage, options?: { contentType?: "json" | "v8" }): Promise<unknown>;
}
