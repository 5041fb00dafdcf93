// Canonical answers encoded as Cohere's v2 chat responses and stream events.
import type { TokenCounts } from "../../usage/prices.ts";
import type { CanonicalEvent, CanonicalResponse, FinishReason } from "../canonical.ts";

const FINISH: Record<FinishReason, string> = {
  stop: "COMPLETE",
  length: "MAX_TOKENS",
  tool_calls: "TOOL_CALL",
  // Cohere has no refusal reason; the answer simply ends.
  content_filter: "COMPLETE",
};

const usageOf = (usage: TokenCounts) => {
  const counts = { input_tokens: usage.promptTokens, output_tokens: usage.completionTokens };
  return { billed_units: counts, tokens: counts, ...(usage.cachedTokens > 0 && { cached_tokens: usage.cachedTokens }) };
};

const answerId = (id: string) => id || crypto.randomUUID();

export function canonicalToCohere(answer: CanonicalResponse, _model: string) {
  const text = answer.parts.flatMap((p) => (p.type === "text" ? [{ type: "text", text: p.text }] : []));
  const calls = answer.parts.flatMap((p) =>
    p.type === "tool_call" ? [{ id: p.id, type: "function", function: { name: p.name, arguments: p.arguments || "{}" } }] : [],
  );
  return {
    id: answerId(answer.id),
    finish_reason: FINISH[answer.finishReason],
    message: {
      role: "assistant",
      // Beside tool calls, Cohere puts the model's words in its tool plan.
      ...(calls.length > 0
        ? { tool_plan: text.map((t) => t.text).join(""), tool_calls: calls }
        : { content: text.length > 0 ? text : [{ type: "text", text: "" }] }),
    },
    usage: usageOf(answer.usage),
  };
}

const sse = (data: { type: string } & Record<string, unknown>) => `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`;

/**
 * Canonical events to Cohere's sequence: message-start; per text block
 * content-start, content-delta…, content-end; per tool call
 * tool-call-start, tool-call-delta…, tool-call-end; message-end with the
 * finish reason and usage once the upstream is done.
 */
export class CohereStreamEncoder {
  private open: { kind: "content" | "tool"; index: number } | undefined;
  private contents = 0;
  private calls = 0;
  private readonly toolIndexes = new Map<number, number>();
  private finish: FinishReason = "stop";
  private usage: TokenCounts = { promptTokens: 0, completionTokens: 0, cachedTokens: 0 };

  private close(): string {
    if (!this.open) return "";
    const { kind, index } = this.open;
    this.open = undefined;
    return sse({ type: kind === "content" ? "content-end" : "tool-call-end", index });
  }

  encode(event: CanonicalEvent): string {
    switch (event.type) {
      case "start":
        return sse({
          type: "message-start",
          id: answerId(event.id),
          delta: { message: { role: "assistant", content: [], tool_plan: "", tool_calls: [], citations: [] } },
        });
      case "text": {
        let out = "";
        if (this.open?.kind !== "content") {
          out += this.close();
          this.open = { kind: "content", index: this.contents++ };
          out += sse({
            type: "content-start",
            index: this.open.index,
            delta: { message: { content: { type: "text", text: "" } } },
          });
        }
        return (
          out + sse({ type: "content-delta", index: this.open.index, delta: { message: { content: { text: event.text } } } })
        );
      }
      case "tool_call_start": {
        const out = this.close();
        this.open = { kind: "tool", index: this.calls++ };
        this.toolIndexes.set(event.index, this.open.index);
        return (
          out +
          sse({
            type: "tool-call-start",
            index: this.open.index,
            delta: {
              message: { tool_calls: { id: event.id, type: "function", function: { name: event.name, arguments: "" } } },
            },
          })
        );
      }
      case "tool_call_delta":
        return sse({
          type: "tool-call-delta",
          index: this.toolIndexes.get(event.index) ?? this.open?.index ?? 0,
          delta: { message: { tool_calls: { function: { arguments: event.arguments } } } },
        });
      case "finish":
        this.finish = event.reason;
        return this.close();
      case "reasoning":
        return "";
      case "usage":
        this.usage = event.usage;
        return "";
    }
  }

  end(): string {
    return this.close() + sse({ type: "message-end", delta: { finish_reason: FINISH[this.finish], usage: usageOf(this.usage) } });
  }
}
