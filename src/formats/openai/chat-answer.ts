// Answers from providers of other dialects, written as OpenAI chat
// completions: the whole response, or chunks as OpenAI streams them.
import type { TokenCounts } from "../../usage/prices.ts";
import { answerText, type CanonicalEvent, type CanonicalResponse, type FinishReason } from "../canonical.ts";

export const openaiUsage = (usage: TokenCounts) => ({
  prompt_tokens: usage.promptTokens,
  completion_tokens: usage.completionTokens,
  total_tokens: usage.promptTokens + usage.completionTokens,
  prompt_tokens_details: { cached_tokens: usage.cachedTokens },
});

const completionId = (id: string) =>
  id.startsWith("chatcmpl-") ? id : `chatcmpl-${id || crypto.randomUUID().replaceAll("-", "")}`;

export function canonicalToOpenAIResponse(answer: CanonicalResponse, model: string) {
  const text = answerText(answer);
  const calls = answer.parts.flatMap((p) =>
    p.type === "tool_call" ? [{ id: p.id, type: "function", function: { name: p.name, arguments: p.arguments } }] : [],
  );
  return {
    id: completionId(answer.id),
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: text || (calls.length > 0 ? null : ""),
          refusal: null,
          ...(calls.length > 0 && { tool_calls: calls }),
        },
        logprobs: null,
        finish_reason: answer.finishReason satisfies FinishReason,
      },
    ],
    usage: openaiUsage(answer.usage),
  };
}

/** Chunks as OpenAI sends them; the usage chunk only for clients that asked for it. */
export class OpenAIStreamEncoder {
  private id = "";
  private readonly created = Math.floor(Date.now() / 1000);
  private finish: FinishReason | undefined;
  private usage: TokenCounts | undefined;

  constructor(
    private readonly model: string,
    private readonly includeUsage: boolean,
  ) {}

  private chunk(choices: unknown[], extra: Record<string, unknown> = {}): string {
    return `data: ${JSON.stringify({ id: this.id, object: "chat.completion.chunk", created: this.created, model: this.model, choices, ...extra })}\n\n`;
  }

  private delta(delta: Record<string, unknown>): string {
    return this.chunk([{ index: 0, delta, logprobs: null, finish_reason: null }]);
  }

  encode(event: CanonicalEvent): string {
    switch (event.type) {
      case "start":
        this.id = completionId(event.id);
        return this.delta({ role: "assistant", content: "" });
      case "text":
        return this.delta({ content: event.text });
      case "tool_call_start":
        return this.delta({
          tool_calls: [{ index: event.index, id: event.id, type: "function", function: { name: event.name, arguments: "" } }],
        });
      case "tool_call_delta":
        return this.delta({ tool_calls: [{ index: event.index, function: { arguments: event.arguments } }] });
      case "finish":
        this.finish = event.reason;
        return "";
      case "reasoning":
        return "";
      case "usage":
        this.usage = event.usage;
        return "";
    }
  }

  end(): string {
    let out = this.chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: this.finish ?? "stop" }]);
    if (this.includeUsage && this.usage) out += this.chunk([], { usage: openaiUsage(this.usage) });
    return `${out}data: [DONE]\n\n`;
  }
}
