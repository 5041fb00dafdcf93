// Canonical answers encoded as Gemini's GenerateContentResponse, whole or as
// server-sent chunks (`alt=sse`).
import type { TokenCounts } from "../../usage/prices.ts";
import {
  type CanonicalEvent,
  type CanonicalPart,
  type CanonicalResponse,
  type FinishReason,
  toolArguments,
} from "../canonical.ts";

const FINISH_REASONS: Record<FinishReason, string> = {
  stop: "STOP",
  length: "MAX_TOKENS",
  tool_calls: "STOP",
  content_filter: "SAFETY",
};

const geminiPart = (p: CanonicalPart): Record<string, unknown>[] =>
  p.type === "text"
    ? [{ text: p.text }]
    : p.type === "tool_call"
      ? [{ functionCall: { id: p.id, name: p.name, args: toolArguments(p.arguments) } }]
      : [];

const usageMetadata = (usage: TokenCounts) => ({
  promptTokenCount: usage.promptTokens,
  candidatesTokenCount: usage.completionTokens,
  totalTokenCount: usage.promptTokens + usage.completionTokens,
  ...(usage.cachedTokens > 0 && { cachedContentTokenCount: usage.cachedTokens }),
});

export function canonicalToGemini(response: CanonicalResponse, model: string) {
  return {
    candidates: [
      {
        content: { role: "model", parts: response.parts.flatMap(geminiPart) },
        finishReason: FINISH_REASONS[response.finishReason],
        index: 0,
      },
    ],
    usageMetadata: usageMetadata(response.usage),
    modelVersion: model,
    responseId: response.id,
  };
}

/**
 * Text goes out as it comes; a function call goes out whole once its
 * arguments are complete (Gemini does not stream arguments); the last chunk
 * carries the finish reason and usage.
 */
export class GeminiStreamEncoder {
  private readonly calls = new Map<number, { id: string; name: string; arguments: string }>();
  private finish: FinishReason = "stop";
  private usage: TokenCounts = { promptTokens: 0, completionTokens: 0, cachedTokens: 0 };
  private id = "";

  constructor(private readonly model: string) {}

  private chunk(parts: Record<string, unknown>[], last = false): string {
    const candidate: Record<string, unknown> = { content: { role: "model", parts }, index: 0 };
    if (last) candidate.finishReason = FINISH_REASONS[this.finish];
    const body: Record<string, unknown> = { candidates: [candidate], modelVersion: this.model, responseId: this.id };
    if (last) body.usageMetadata = usageMetadata(this.usage);
    return `data: ${JSON.stringify(body)}\r\n\r\n`;
  }

  encode(event: CanonicalEvent): string {
    switch (event.type) {
      case "start":
        this.id = event.id;
        return "";
      case "text":
        return this.chunk([{ text: event.text }]);
      case "tool_call_start":
        this.calls.set(event.index, { id: event.id, name: event.name, arguments: "" });
        return "";
      case "tool_call_delta": {
        const call = this.calls.get(event.index);
        if (call) call.arguments += event.arguments;
        return "";
      }
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
    const calls = [...this.calls.values()].map((call) => ({
      functionCall: { id: call.id, name: call.name, args: toolArguments(call.arguments) },
    }));
    // The closing chunk always has a part, as Gemini's do.
    return this.chunk(calls.length > 0 ? calls : [{ text: "" }], true);
  }
}
