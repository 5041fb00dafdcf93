// Measures one request while it runs and turns it into a usage record at the end.
import type { Principal } from "../auth/principal.ts";
import type { ClientFormat } from "../formats/index.ts";
import { costOf, type Price, type TokenCounts } from "./prices.ts";
import type { UsageRecord } from "./record.ts";

export interface MeterStart {
  requestId: string;
  principal: Principal;
  provider: string;
  model: string;
  upstreamModel: string;
  clientFormat: ClientFormat;
  streamed: boolean;
  /** performance.now() when the request arrived. */
  startedAt: number;
  price: Price | undefined;
}

export interface Outcome {
  status: number;
  error?: string;
}

export class UsageMeter {
  private firstByteAt: number | null = null;
  private tokens: TokenCounts = { promptTokens: 0, completionTokens: 0, cachedTokens: 0 };
  attempts = 1;

  constructor(private readonly start: MeterStart) {}

  markFirstByte(): void {
    this.firstByteAt ??= performance.now();
  }

  setTokens(tokens: TokenCounts | undefined): void {
    if (tokens) this.tokens = tokens;
  }

  finish(outcome: Outcome): UsageRecord {
    const { price, startedAt, ...start } = this.start;
    return {
      ...start,
      ...this.tokens,
      costUsd: costOf(price, this.tokens),
      latencyMs: performance.now() - startedAt,
      ttfbMs: this.firstByteAt === null ? null : this.firstByteAt - startedAt,
      status: outcome.status,
      error: outcome.error ?? null,
      attempts: this.attempts,
      // A key's metadata (a sandbox's session id, say) travels with its usage.
      metadata: start.principal.type === "key" ? start.principal.metadata : {},
    };
  }
}
