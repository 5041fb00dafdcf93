// OpenAI's dialects seen from the provider's side: canonical requests
// encoded as chat completions, answers and chunks decoded back; legacy
// completions and embeddings read for their usage when forwarded as sent.
import type { TokenCounts } from "../../usage/prices.ts";
import type { CanonicalEvent, CanonicalPart, CanonicalRequest, CanonicalResponse, FinishReason } from "../canonical.ts";
import type { StreamDecoder, StreamFrame, UpstreamCodec } from "../types.ts";

interface OpenAIUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
}

/** OpenAI's `usage` object as token counts; undefined when there is none. */
export function openaiUsageFrom(value: unknown): TokenCounts | undefined {
  if (!value || typeof value !== "object") return undefined;
  const usage = value as OpenAIUsage;
  return {
    promptTokens: usage.prompt_tokens ?? 0,
    completionTokens: usage.completion_tokens ?? 0,
    cachedTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
  };
}

type OpenAIMessage = Record<string, unknown>;

function userContent(parts: CanonicalPart[]): string | Record<string, unknown>[] {
  const media = parts.filter((p) => p.type === "text" || p.type === "image");
  if (media.every((p) => p.type === "text")) return media.map((p) => (p.type === "text" ? p.text : "")).join("");
  return media.map((p) =>
    p.type === "text"
      ? { type: "text", text: p.text }
      : {
          type: "image_url",
          image_url: {
            url:
              p.type === "image" && p.source.kind === "url"
                ? p.source.url
                : p.type === "image" && p.source.kind === "base64"
                  ? `data:${p.source.mediaType};base64,${p.source.data}`
                  : "",
          },
        },
  );
}

function messagesOf(request: CanonicalRequest): OpenAIMessage[] {
  const messages: OpenAIMessage[] = request.system ? [{ role: "system", content: request.system }] : [];
  for (const message of request.messages) {
    if (message.role === "assistant") {
      const text = message.parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("");
      const calls = message.parts.flatMap((p) =>
        p.type === "tool_call" ? [{ id: p.id, type: "function", function: { name: p.name, arguments: p.arguments } }] : [],
      );
      messages.push({ role: "assistant", content: text || null, ...(calls.length > 0 && { tool_calls: calls }) });
      continue;
    }
    // Tool results become `tool` messages, ahead of whatever the user said alongside them.
    for (const part of message.parts) {
      if (part.type === "tool_result") messages.push({ role: "tool", tool_call_id: part.toolCallId, content: part.content });
    }
    if (message.parts.some((p) => p.type === "text" || p.type === "image"))
      messages.push({ role: "user", content: userContent(message.parts) });
  }
  return messages;
}

export function canonicalToOpenAI(request: CanonicalRequest): Record<string, unknown> {
  const body: Record<string, unknown> = { messages: messagesOf(request) };
  if (request.tools?.length) {
    body.tools = request.tools.map((t) => ({
      type: "function",
      function: { name: t.name, description: t.description, parameters: t.parameters },
    }));
  }
  if (request.toolChoice)
    body.tool_choice =
      typeof request.toolChoice === "string"
        ? request.toolChoice
        : { type: "function", function: { name: request.toolChoice.name } };
  if (request.maxTokens !== undefined) body.max_tokens = request.maxTokens;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.topP !== undefined) body.top_p = request.topP;
  if (request.stop?.length) body.stop = request.stop;
  if (request.responseFormat?.type === "json") body.response_format = { type: "json_object" };
  if (request.responseFormat?.type === "json_schema") {
    body.response_format = {
      type: "json_schema",
      json_schema: { name: request.responseFormat.name, schema: request.responseFormat.schema },
    };
  }
  if (request.reasoningEffort) body.reasoning_effort = request.reasoningEffort;
  if (request.stream) body.stream = true;
  return body;
}

const FINISH: Record<string, FinishReason> = {
  stop: "stop",
  length: "length",
  tool_calls: "tool_calls",
  function_call: "tool_calls",
  content_filter: "content_filter",
};
export const openaiFinish = (reason: unknown): FinishReason => FINISH[String(reason)] ?? "stop";

interface OpenAIToolCall {
  id?: string;
  index?: number;
  function?: { name?: string; arguments?: string };
}

interface OpenAIChoice {
  message?: { content?: string | null; tool_calls?: OpenAIToolCall[] };
  /** Compatible servers stream their model's thinking as `reasoning_content` (DeepSeek, vLLM) or `reasoning`. */
  delta?: { content?: string | null; tool_calls?: OpenAIToolCall[]; reasoning_content?: unknown; reasoning?: unknown };
  finish_reason?: string | null;
}

export function openaiToCanonical(body: {
  id?: string;
  model?: string;
  choices?: OpenAIChoice[];
  usage?: unknown;
}): CanonicalResponse {
  const choice = body.choices?.[0];
  const parts: CanonicalPart[] = [];
  if (choice?.message?.content) parts.push({ type: "text", text: choice.message.content });
  for (const call of choice?.message?.tool_calls ?? []) {
    parts.push({
      type: "tool_call",
      id: call.id ?? "",
      name: call.function?.name ?? "",
      arguments: call.function?.arguments ?? "{}",
    });
  }
  return {
    id: body.id ?? "",
    model: body.model ?? "",
    parts,
    finishReason: openaiFinish(choice?.finish_reason),
    usage: openaiUsageFrom(body.usage) ?? { promptTokens: 0, completionTokens: 0, cachedTokens: 0 },
  };
}

/** Turns each OpenAI stream chunk into canonical events. */
class OpenAIChunkDecoder {
  private started = false;
  private readonly toolIndexes = new Set<number>();

  decode(chunk: { id?: string; model?: string; choices?: OpenAIChoice[]; usage?: unknown }): CanonicalEvent[] {
    const events: CanonicalEvent[] = [];
    if (!this.started) {
      this.started = true;
      events.push({ type: "start", id: chunk.id ?? "", model: chunk.model ?? "" });
    }
    for (const choice of chunk.choices ?? []) {
      const delta = choice.delta;
      if (delta?.content) events.push({ type: "text", text: delta.content });
      const thinking = delta?.reasoning_content ?? delta?.reasoning;
      if (typeof thinking === "string" && thinking) events.push({ type: "reasoning", text: thinking });
      for (const call of delta?.tool_calls ?? []) {
        const index = call.index ?? 0;
        if (!this.toolIndexes.has(index)) {
          this.toolIndexes.add(index);
          events.push({ type: "tool_call_start", index, id: call.id ?? `call_${index}`, name: call.function?.name ?? "" });
        }
        if (call.function?.arguments) events.push({ type: "tool_call_delta", index, arguments: call.function.arguments });
      }
      if (choice.finish_reason) events.push({ type: "finish", reason: openaiFinish(choice.finish_reason) });
    }
    const usage = openaiUsageFrom(chunk.usage);
    if (usage) events.push({ type: "usage", usage });
    return events;
  }
}

type OpenAIChunk = Parameters<OpenAIChunkDecoder["decode"]>[0] & {
  error?: { message?: string };
  choices?: (OpenAIChoice & { text?: string })[];
};

/** Chat and legacy completion chunks, `[DONE]` ending a whole stream; an error chunk fails it. */
function openaiStreamDecoder(): StreamDecoder {
  const chunks = new OpenAIChunkDecoder();
  let complete = false;
  return {
    get complete() {
      return complete;
    },
    decode(frame: StreamFrame) {
      if (frame.data === "[DONE]") {
        complete = true;
        return [];
      }
      const chunk = JSON.parse(frame.data) as OpenAIChunk;
      if (chunk.error) throw new Error(chunk.error.message ?? "the upstream reported an error");
      const events = chunks.decode(chunk);
      // Legacy completions stream `text` rather than a delta.
      for (const choice of chunk.choices ?? []) if (choice.text) events.push({ type: "text", text: choice.text });
      return events;
    },
  };
}

const usageOf = (body: unknown) => openaiUsageFrom((body as { usage?: unknown } | null)?.usage);

export const openaiChatCodec: UpstreamCodec = {
  encode: canonicalToOpenAI,
  decode: (body) => openaiToCanonical(body as Parameters<typeof openaiToCanonical>[0]),
  usage: usageOf,
  streamDecoder: openaiStreamDecoder,
};

/** Legacy completions and embeddings are only ever forwarded as sent: read for usage, never translated to. */
const forwardedOnly = (dialect: string): UpstreamCodec => ({
  encode: () => {
    throw new Error(`requests are not translated into ${dialect}`);
  },
  decode: (body) => openaiToCanonical(body as Parameters<typeof openaiToCanonical>[0]),
  usage: usageOf,
  streamDecoder: openaiStreamDecoder,
});

export const openaiCompletionsCodec = forwardedOnly("legacy completions");
export const openaiEmbeddingsCodec = forwardedOnly("embeddings");
