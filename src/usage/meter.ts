// Measures one request while it runs and turns it into a usage record at the end.
import { type Principal, principalKeyId, principalTeamId, principalUserId } from "../auth/principal.ts";
import { costOf, type MediaUsage, mediaCostOf, type Price, type TokenCounts, type ToolFees, toolCost } from "./prices.ts";
import { callerMetadata, type GatewayMetadataName, type UsageRecord } from "./record.ts";

export interface MeterStart
  extends Pick<UsageRecord, "requestId" | "provider" | "model" | "upstreamModel" | "clientFormat" | "streamed"> {
  principal: Principal;
  /** performance.now() when the request arrived. */
  startedAt: number;
  price: Price | undefined;
  /** What the serving provider charges per built-in tool call, for the model; undefined when it runs none. */
  toolFees?: ToolFees;
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
  /** What the provider last reported: whole once the answer is, perhaps partial before (Anthropic's start, Gemini's running counts). */
  private reported: TokenCounts | undefined;
  private generatedCharacters = 0;
  /** What a media call used beyond tokens: audio seconds, characters spoken, images. */
  private media: MediaUsage | undefined;
  /** Input the provider received for attempts that never answered (timed out, or refused beside the call), priced at their targets. */
  private unanswered = { timedOut: 0, promptTokens: 0, costUsd: 0 };
  attempts = 1;
  /** Why the answer ended, as the provider said (collected only for a traced call). */
  readonly finishReasons: string[] = [];
  /** Facts about the call worth keeping in its record's metadata. */
  readonly flags: Partial<Record<GatewayMetadataName, unknown>> = {};

  constructor(private readonly start: MeterStart) {}

  /** The target now being tried; the record names the last one. */
  serve(target: { provider: string; upstreamModel: string; price: Price | undefined; toolFees?: ToolFees }): void {
    this.start.provider = target.provider;
    this.start.upstreamModel = target.upstreamModel;
    this.start.price = target.price;
    this.start.toolFees = target.toolFees;
    // No price is known for it: its cost is recorded as 0 (only callers with no dollar limit get here).
    if (target.price) delete this.flags.unpriced;
    else this.flags.unpriced = true;
  }

  markFirstByte(): void {
    this.firstByteAt ??= performance.now();
  }

  setTokens(tokens: TokenCounts | undefined): void {
    if (tokens) this.reported = tokens;
  }

  /** A media call's usage, read from its answer (or, flagged `estimated`, from its request). */
  setMedia(usage: MediaUsage | undefined, estimated = false): void {
    this.media = usage;
    if (estimated) this.flags.usage_estimated = true;
    else delete this.flags.usage_estimated;
  }

  addGenerated(characters: number): void {
    this.generatedCharacters += characters;
  }

  /**
   * An attempt that timed out after the provider had the prompt: providers
   * bill the work they started, so its estimated input is recorded (at the
   * price of the target that had it) rather than nothing.
   */
  billTimedOut(promptTokens: number): void {
    this.unanswered.timedOut += 1;
    this.billInput(promptTokens);
  }

  /**
   * An attempt a guardrail beside it refused after the provider had the
   * prompt: what the provider reported, when its answer was read whole;
   * else the prompt's estimated input, as for a timeout.
   */
  billRefused(reported: TokenCounts | undefined): void {
    if (reported) this.setTokens(reported);
    else this.billInput(this.start.estimatedPromptTokens);
  }

  private billInput(promptTokens: number): void {
    this.unanswered.promptTokens += promptTokens;
    this.unanswered.costUsd += costOf(this.start.price, { promptTokens, completionTokens: 0, cachedTokens: 0 });
  }

  /**
   * Usage for an answer the provider did not report whole: a stream that
   * ended early (the client left, the upstream broke off) or an upstream
   * that reports nothing. What it did report wins (Anthropic's exact input
   * at the start, Gemini's running counts); the rest is estimated: the
   * prompt as before the call, about four characters per generated token,
   * thinking included. Once the provider has started answering, nothing it
   * did is free.
   */
  private estimatedTokens(complete: boolean): TokenCounts | undefined {
    if (this.firstByteAt === null) return undefined;
    // A media call's answer is metered in what it reports (seconds, characters, images), not in tokens.
    if (complete && (this.reported || this.media)) return undefined;
    const reported = this.reported;
    return {
      ...reported,
      promptTokens: reported?.promptTokens || this.start.estimatedPromptTokens,
      completionTokens: Math.max(reported?.completionTokens ?? 0, Math.ceil(this.generatedCharacters / 4)),
      cachedTokens: reported?.cachedTokens ?? 0,
    };
  }

  finish(outcome: Outcome): UsageRecord {
    const { price, toolFees, startedAt, estimatedPromptTokens: _estimate, principal, ...start } = this.start;
    const estimated = this.estimatedTokens(outcome.status === 200);
    const answered = estimated ?? this.reported ?? { promptTokens: 0, completionTokens: 0, cachedTokens: 0 };
    const unanswered = this.unanswered;
    const { cacheWriteTokens = 0, cacheWrite1hTokens = 0, toolCalls, ...counts } = answered;
    const tools = toolCost(toolFees, toolCalls);
    const keyMetadata = principal.type === "key" ? callerMetadata(principal.metadata) : {};
    const latencyMs = performance.now() - startedAt;
    return {
      ...start,
      principalType: principal.type,
      principalId: principal.id,
      userId: principalUserId(principal),
      keyId: principalKeyId(principal),
      teamId: principalTeamId(principal),
      ...(principal.type === "guest" && {
        appId: principal.appId,
        deviceId: principal.deviceId,
        ipHash: principal.ipHash,
      }),
      ...counts,
      promptTokens: counts.promptTokens + unanswered.promptTokens,
      cacheWriteTokens,
      costUsd: costOf(price, answered) + mediaCostOf(price, this.media) + tools.usd + unanswered.costUsd,
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
        ...(this.media && { media: this.media }),
        ...((estimated || unanswered.timedOut > 0 || unanswered.promptTokens > 0) && { usage_estimated: true }),
        ...(unanswered.timedOut > 0 && { timed_out_attempts: unanswered.timedOut }),
        ...(cacheWrite1hTokens > 0 && { cache_write_1h_tokens: cacheWrite1hTokens }),
        ...(toolCalls && { tool_calls: toolCalls, tool_fees_usd: tools.usd }),
        ...(tools.unpriced.length > 0 && { unpriced_tools: tools.unpriced }),
        ...(this.route.length > 0 && { route: this.route }),
      },
    };
  }
}
