// Canonical answers encoded as Anthropic's Messages API responses and stream events.
import type { TokenCounts } from "../../usage/prices.ts";
import { type CanonicalEvent, type CanonicalResponse, type FinishReason, toolArguments } from "../canonical.ts";

const STOP_REASONS: Record<FinishReason, string> = {
  stop: "end_turn",
  length: "max_tokens",
  tool_calls: "tool_use",
  content_filter: "refusal",
};

const messageId = (id: string) =>
  id.startsWith("msg_") ? id : `msg_${id.replace(/^chatcmpl-/, "") || crypto.randomUUID().replaceAll("-", "")}`;

const usageOf = (usage: TokenCounts) => ({
  input_tokens: usage.promptTokens - usage.cachedTokens - (usage.cacheWriteTokens ?? 0),
  output_tokens: usage.completionTokens,
  cache_read_input_tokens: usage.cachedTokens,
  cache_creation_input_tokens: usage.cacheWriteTokens ?? 0,
});

export function canonicalToAnthropic(response: CanonicalResponse, model: string) {
  return {
    id: messageId(response.id),
    type: "message",
    role: "assistant",
    model,
    content: response.parts.flatMap((p): Record<string, unknown>[] =>
      p.type === "text"
        ? [{ type: "text", text: p.text }]
        : p.type === "tool_call"
          ? [{ type: "tool_use", id: p.id, name: p.name, input: toolArguments(p.arguments) }]
          : [],
    ),
    stop_reason: STOP_REASONS[response.finishReason],
    stop_sequence: null,
    usage: usageOf(response.usage),
  };
}

const sse = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/**
 * Canonical events to Anthropic's event sequence: message_start, then per
 * content block start / delta… / stop, then message_delta (stop reason and
 * usage) and message_stop once the upstream is done.
 */
export class AnthropicStreamEncoder {
  private block: { index: number; kind: "text" | "tool" } | undefined;
  private nextIndex = 0;
  private toolBlocks = new Map<number, number>();
  private finish: FinishReason = "stop";
  private usage: TokenCounts = { promptTokens: 0, completionTokens: 0, cachedTokens: 0 };

  constructor(private readonly model: string) {}

  private closeBlock(): string {
    if (!this.block) return "";
    const out = sse("content_block_stop", { type: "content_block_stop", index: this.block.index });
    this.block = undefined;
    return out;
  }

  encode(event: CanonicalEvent): string {
    switch (event.type) {
      case "start":
        return sse("message_start", {
          type: "message_start",
          message: {
            id: messageId(event.id),
            type: "message",
            role: "assistant",
            model: this.model,
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: { input_tokens: 0, output_tokens: 0 },
          },
        });
      case "text": {
        let out = "";
        if (this.block?.kind !== "text") {
          out += this.closeBlock();
          this.block = { index: this.nextIndex++, kind: "text" };
          out += sse("content_block_start", {
            type: "content_block_start",
            index: this.block.index,
            content_block: { type: "text", text: "" },
          });
        }
        return (
          out +
          sse("content_block_delta", {
            type: "content_block_delta",
            index: this.block.index,
            delta: { type: "text_delta", text: event.text },
          })
        );
      }
      case "tool_call_start": {
        const out = this.closeBlock();
        this.block = { index: this.nextIndex++, kind: "tool" };
        this.toolBlocks.set(event.index, this.block.index);
        return (
          out +
          sse("content_block_start", {
            type: "content_block_start",
            index: this.block.index,
            content_block: { type: "tool_use", id: event.id, name: event.name, input: {} },
          })
        );
      }
      case "tool_call_delta":
        return sse("content_block_delta", {
          type: "content_block_delta",
          index: this.toolBlocks.get(event.index) ?? this.block?.index ?? 0,
          delta: { type: "input_json_delta", partial_json: event.arguments },
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

  /** The closing events, once the upstream stream is whole. */
  end(): string {
    return (
      this.closeBlock() +
      sse("message_delta", {
        type: "message_delta",
        delta: { stop_reason: STOP_REASONS[this.finish], stop_sequence: null },
        usage: usageOf(this.usage),
      }) +
      sse("message_stop", { type: "message_stop" })
    );
  }
}
