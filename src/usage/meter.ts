// Measures one request while it runs and turns it into a usage record at the end.
import { type Principal, principalKeyId, principalTeamId, principalUserId } from "../auth/principal.ts";
import { costOf, type Price, type TokenCounts } from "./prices.ts";
import type { UsageRecord } from "./record.ts";

export interface MeterStart
  extends Pick<UsageRecord, "requestId" | "provider" | "model" | "upstreamModel" | "clientFormat" | "streamed"> {
  principal: Principal;
  /** performance.now() when the request arrived. */
  startedAt: number;
  price: Price | undefined;
  /** The prompt's size as estimated before the call, for billing a request the provider never reported. */
  estimatedPromptTokens: number;
}

export interface Outcome {
  status: number;
  error?: string;
}

/** One step of a request's path through its targets, as its usage event records it. */
export interface RouteStep {
  provider: string;
  model: string;
  credential?: string;
  /** `ok`, an upstream status, `timeout`, `connection`, or why the target was skipped. */
  outcome: string;
  ms?: number;
}

export class UsageMeter {
  private firstByteAt: number | null = null;
  readonly route: RouteStep[] = [];
  private tokens: TokenCounts = { promptTokens: 0, completionTokens: 0, cachedTokens: 0 };
  private reported = false;
  private generatedCharacters = 0;
  attempts = 1;
  /** Facts about the call worth keeping in its record's metadata. */
  readonly flags: Record<string, unknown> = {};

  constructor(private readonly start: MeterStart) {}

  /** The target now being tried; the record names the last one. */
  serve(target: { provider: string; upstreamModel: string; price: Price | undefined }): void {
    this.start.provider = target.provider;
    this.start.upstreamModel = target.upstreamModel;
    this.start.price = target.price;
  }

  markFirstByte(): void {
    this.firstByteAt ??= performance.now();
  }

  setTokens(tokens: TokenCounts | undefined): void {
    if (!tokens) return;
    this.tokens = tokens;
    this.reported = true;
  }

  addGenerated(characters: number): void {
    this.generatedCharacters += characters;
  }

  /**
   * Usage for a stream that ended before the provider reported it (a client
   * that left, a stream cut short): the prompt as estimated before the call,
   * and about four characters per generated token. Once the provider has
   * started answering, nothing it did is free.
   */
  private estimatedTokens(): TokenCounts | undefined {
    if (this.reported || this.firstByteAt === null) return undefined;
    return {
      promptTokens: this.start.estimatedPromptTokens,
      completionTokens: Math.ceil(this.generatedCharacters / 4),
      cachedTokens: 0,
    };
  }

  finish(outcome: Outcome): UsageRecord {
    const { price, startedAt, estimatedPromptTokens: _estimate, principal, ...start } = this.start;
    const estimated = this.estimatedTokens();
    const tokens = estimated ?? this.tokens;
    const keyMetadata = principal.type === "key" ? principal.metadata : {};
    const latencyMs = performance.now() - startedAt;
    return {
      ...start,
      principalType: principal.type,
      principalId: principal.id,
      userId: principalUserId(principal),
      keyId: principalKeyId(principal),
      teamId: principalTeamId(principal),
      ...tokens,
      costUsd: costOf(price, tokens),
      latencyMs,
      createdAt: Date.now() - latencyMs,
      ttfbMs: this.firstByteAt === null ? null : this.firstByteAt - startedAt,
      status: outcome.status,
      error: outcome.error ?? null,
      attempts: this.attempts,
      // A key's metadata (a sandbox's session id, say) travels with its usage.
      metadata: {
        ...keyMetadata,
        ...this.flags,
        ...(estimated && { usage_estimated: true }),
        ...(this.route.length > 0 && { route: this.route }),
      },
    };
  }
}
