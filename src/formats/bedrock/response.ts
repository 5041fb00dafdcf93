// Canonical answers as Converse answers: the whole response, and
// ConverseStream's events (messageStart, content blocks, messageStop, then
// metadata with the usage) as event-stream messages.
import type { TokenCounts } from "../../usage/prices.ts";
import { type CanonicalEvent, type CanonicalResponse, type FinishReason, toolArguments } from "../canonical.ts";
import { converseEvent } from "./stream.ts";

const STOP_REASONS: Record<FinishReason, string> = {
  stop: "end_turn",
  length: "max_tokens",
  tool_calls: "tool_use",
  content_filter: "content_filtered",
};

/** Like Anthropic's, Bedrock's `inputTokens` leaves out cache reads and writes, which have counts of their own. */
function usageOf(usage: TokenCounts) {
  const cacheWrite = usage.cacheWriteTokens ?? 0;
  const input = usage.promptTokens - usage.cachedTokens - cacheWrite;
  return {
    inputTokens: input,
    outputTokens: usage.completionTokens,
    totalTokens: usage.promptTokens + usage.completionTokens,
    ...(usage.cachedTokens > 0 && { cacheReadInputTokens: usage.cachedTokens }),
    ...(cacheWrite > 0 && { cacheWriteInputTokens: cacheWrite }),
  };
}

export function canonicalToConverseResponse(response: CanonicalResponse, _model: string) {
  return {
    output: {
      message: {
        role: "assistant",
        content: response.parts.flatMap((p): Record<string, unknown>[] =>
          p.type === "text"
            ? [{ text: p.text }]
            : p.type === "tool_call"
              ? [{ toolUse: { toolUseId: p.id, name: p.name, input: toolArguments(p.arguments) } }]
              : [],
        ),
      },
    },
    stopReason: STOP_REASONS[response.finishReason],
    usage: usageOf(response.usage),
    metrics: { latencyMs: 0 },
  };
}

/**
 * Canonical events to ConverseStream's: messageStart, then per content block
 * its deltas and a contentBlockStop (a tool's block opens with
 * contentBlockStart, as Bedrock's do), messageStop, and metadata with the
 * usage once the upstream is done.
 */
export class ConverseStreamEncoder {
  private block: { index: number; kind: "text" | "tool" } | undefined;
  private nextIndex = 0;
  private toolBlocks = new Map<number, number>();
  private finish: FinishReason = "stop";
  private usage: TokenCounts = { promptTokens: 0, completionTokens: 0, cachedTokens: 0 };
  private readonly startedAt = Date.now();

  private closeBlock(): string {
    if (!this.block) return "";
    const out = converseEvent("contentBlockStop", { contentBlockIndex: this.block.index });
    this.block = undefined;
    return out;
  }

  encode(event: CanonicalEvent): string {
    switch (event.type) {
      case "start":
        return converseEvent("messageStart", { role: "assistant" });
      case "text": {
        let out = "";
        if (this.block?.kind !== "text") {
          out += this.closeBlock();
          this.block = { index: this.nextIndex++, kind: "text" };
        }
        return out + converseEvent("contentBlockDelta", { contentBlockIndex: this.block.index, delta: { text: event.text } });
      }
      case "tool_call_start": {
        const out = this.closeBlock();
        this.block = { index: this.nextIndex++, kind: "tool" };
        this.toolBlocks.set(event.index, this.block.index);
        return (
          out +
          converseEvent("contentBlockStart", {
            contentBlockIndex: this.block.index,
            start: { toolUse: { toolUseId: event.id, name: event.name } },
          })
        );
      }
      case "tool_call_delta":
        return converseEvent("contentBlockDelta", {
          contentBlockIndex: this.toolBlocks.get(event.index) ?? this.block?.index ?? 0,
          delta: { toolUse: { input: event.arguments } },
        });
      case "finish":
        this.finish = event.reason;
        return this.closeBlock();
      case "reasoning":
        return "";
      case "usage":
        this.usage = event.usage;
        return "";
    }
  }

  end(): string {
    return (
      this.closeBlock() +
      converseEvent("messageStop", { stopReason: STOP_REASONS[this.finish] }) +
      converseEvent("metadata", { usage: usageOf(this.usage), metrics: { latencyMs: Date.now() - this.startedAt } })
    );
  }
}
