// OpenAI's legacy completions shapes, for prompts answered by providers of other dialects.
import type { TokenCounts } from "../../usage/prices.ts";
import { answerText, type CanonicalEvent, type CanonicalResponse, type FinishReason } from "../canonical.ts";

const usageOf = (usage: TokenCounts) => ({
  prompt_tokens: usage.promptTokens,
  completion_tokens: usage.completionTokens,
  total_tokens: usage.promptTokens + usage.completionTokens,
});

const completionId = (id: string) => `cmpl-${id.replace(/^(chatcmpl-|msg_)/, "") || crypto.randomUUID().replaceAll("-", "")}`;
const finishOf = (reason: FinishReason) => (reason === "length" ? "length" : "stop");

export function canonicalToTextCompletion(answer: CanonicalResponse, model: string) {
  return {
    id: completionId(answer.id),
    object: "text_completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        text: answerText(answer),
        index: 0,
        logprobs: null,
        finish_reason: finishOf(answer.finishReason),
      },
    ],
    usage: usageOf(answer.usage),
  };
}

export class TextCompletionStreamEncoder {
  private id = "";
  private readonly created = Math.floor(Date.now() / 1000);
  private finish: FinishReason = "stop";
  private usage: TokenCounts | undefined;

  constructor(
    private readonly model: string,
    private readonly includeUsage: boolean,
  ) {}

  private chunk(choices: unknown[], extra: Record<string, unknown> = {}): string {
    return `data: ${JSON.stringify({ id: this.id, object: "text_completion", created: this.created, model: this.model, choices, ...extra })}\n\n`;
  }

  encode(event: CanonicalEvent): string {
    if (event.type === "start") this.id = completionId(event.id);
    if (event.type === "text") return this.chunk([{ text: event.text, index: 0, logprobs: null, finish_reason: null }]);
    if (event.type === "finish") this.finish = event.reason;
    if (event.type === "usage") this.usage = event.usage;
    return "";
  }

  end(): string {
    let out = this.chunk([{ text: "", index: 0, logprobs: null, finish_reason: finishOf(this.finish) }]);
    if (this.includeUsage && this.usage) out += this.chunk([], { usage: usageOf(this.usage) });
    return `${out}data: [DONE]\n\n`;
  }
}
