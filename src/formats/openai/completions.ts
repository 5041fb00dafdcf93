// OpenAI's legacy completions as a client format: forwarded to
// OpenAI-dialect providers, and to others as one chat turn, the answer
// written back in the completions shapes.
import type { TokenCounts } from "../../usage/prices.ts";
import * as z from "../../zod.ts";
import { answerText, type CanonicalEvent, type CanonicalResponse, type FinishReason } from "../canonical.ts";
import { flag, modelName, positiveInt, providerName, sampling, stopSequences, withoutProvider } from "../fields.ts";
import { type ClientFormat, unaskedUsage, usageShown } from "../types.ts";
import { openaiChatToCanonical } from "./chat.ts";

export const openaiCompletionSchema = z.looseObject({
  model: modelName,
  prompt: z.union([z.string(), z.array(z.string())], { message: "must be a string or an array of strings" }),
  stream: flag,
  stream_options: z.nullish(z.looseObject({ include_usage: flag })),
  max_tokens: z.nullish(positiveInt),
  n: z.nullish(positiveInt.check(z.lte(128, { message: "must be at most 128" }))),
  temperature: sampling(0, 2),
  top_p: sampling(0, 1),
  stop: stopSequences,
  provider: z.optional(providerName),
});

export type OpenAICompletionBody = z.infer<typeof openaiCompletionSchema>;

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

export const openaiCompletions: ClientFormat<OpenAICompletionBody> = {
  name: "openai-completions",
  dialect: "openai-completions",
  errors: "openai",
  schema: openaiCompletionSchema,
  facts: (body) => ({ model: body.model, stream: body.stream === true, provider: body.provider }),
  forwarded: withoutProvider,
  prompt: (body) => [body.prompt, ""],
  output: {
    of: (body) => body.max_tokens ?? undefined,
    // `best_of` generates that many server-side and returns `n`: all of them are billed.
    choices: (body) => Math.max(body.n ?? 1, typeof body.best_of === "number" ? body.best_of : 1),
    default: 16,
    set: (forwarded, cap) => ({ ...forwarded, max_tokens: cap }),
  },
  toCanonical: (body) =>
    openaiChatToCanonical({
      model: body.model,
      messages: [{ role: "user", content: Array.isArray(body.prompt) ? body.prompt.join("") : body.prompt }],
      stream: body.stream,
      max_tokens: body.max_tokens,
      temperature: body.temperature,
      top_p: body.top_p,
      stop: body.stop,
    }),
  encoder: (body, usage) => ({
    response: canonicalToTextCompletion,
    stream: (model) => new TextCompletionStreamEncoder(model, usageShown(body.stream_options?.include_usage, usage)),
  }),
  hidden: (body, usage) => unaskedUsage(body.stream_options?.include_usage, usage),
};
