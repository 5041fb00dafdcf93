// Anthropic's Messages API seen from the provider's side (Anthropic's own,
// or Claude on Vertex AI): canonical requests encoded as Messages bodies,
// answers and stream events decoded back.
import { GatewayError } from "../../http/errors.ts";
import type { TokenCounts } from "../../usage/prices.ts";
import {
  type CanonicalEvent,
  type CanonicalPart,
  type CanonicalRequest,
  type CanonicalResponse,
  type FinishReason,
  toolArguments,
} from "../canonical.ts";
import type { StreamDecoder, StreamFrame, UpstreamCodec } from "../types.ts";

/** Anthropic requires an output cap; this one applies when the client gave none. */
const DEFAULT_MAX_TOKENS = 4096;

function blockOf(part: CanonicalPart): Record<string, unknown> {
  switch (part.type) {
    case "text":
      return { type: "text", text: part.text };
    case "image":
      return part.source.kind === "url"
        ? { type: "image", source: { type: "url", url: part.source.url } }
        : { type: "image", source: { type: "base64", media_type: part.source.mediaType, data: part.source.data } };
    case "tool_call":
      return { type: "tool_use", id: part.id, name: part.name, input: toolArguments(part.arguments) };
    case "tool_result":
      return {
        type: "tool_result",
        tool_use_id: part.toolCallId,
        content: part.content,
        ...(part.isError && { is_error: true }),
      };
  }
}

export function canonicalToAnthropicBody(request: CanonicalRequest): Record<string, unknown> {
  const body: Record<string, unknown> = {
    max_tokens: request.maxTokens ?? DEFAULT_MAX_TOKENS,
    messages: request.messages.map((m) => ({ role: m.role, content: m.parts.map(blockOf) })),
  };
  if (request.system) body.system = request.system;
  if (request.tools?.length)
    body.tools = request.tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.parameters }));
  const choice = request.toolChoice;
  if (choice)
    body.tool_choice =
      typeof choice === "object" ? { type: "tool", name: choice.name } : { type: choice === "required" ? "any" : choice };
  if (request.stop?.length) body.stop_sequences = request.stop;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.topP !== undefined) body.top_p = request.topP;
  if (request.responseFormat) {
    throw new GatewayError(
      400,
      "invalid_request",
      "Anthropic models take no response format; ask for JSON in the prompt, or use a tool.",
      {
        param: "response_format",
      },
    );
  }
  if (request.stream) body.stream = true;
  return body;
}

const FINISH: Record<string, FinishReason> = {
  end_turn: "stop",
  stop_sequence: "stop",
  max_tokens: "length",
  tool_use: "tool_calls",
  refusal: "content_filter",
};

interface AnthropicUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
  /** The writes by how long they are kept, where the API reports it. */
  cache_creation?: { ephemeral_5m_input_tokens?: number; ephemeral_1h_input_tokens?: number } | null;
}

/**
 * Counts from a provider that reports cache reads and writes apart from its
 * input (Anthropic, Bedrock): the prompt is all three. Writes are kept apart
 * (and those kept for an hour among them), since they cost more than input.
 */
export function withCacheCounts(counts: {
  input?: number;
  cacheRead?: number;
  cacheWrite?: number;
  cacheWrite1h?: number;
  output?: number;
}): TokenCounts {
  const cached = counts.cacheRead ?? 0;
  const written = counts.cacheWrite ?? 0;
  const forAnHour = Math.min(written, counts.cacheWrite1h ?? 0);
  return {
    promptTokens: (counts.input ?? 0) + cached + written,
    completionTokens: counts.output ?? 0,
    cachedTokens: cached,
    ...(written > 0 && { cacheWriteTokens: written }),
    ...(forAnHour > 0 && { cacheWrite1hTokens: forAnHour }),
  };
}

export function anthropicUsageFrom(value: unknown): TokenCounts | undefined {
  if (!value || typeof value !== "object") return undefined;
  const usage = value as AnthropicUsage;
  const byTtl = usage.cache_creation;
  const split = byTtl ? (byTtl.ephemeral_5m_input_tokens ?? 0) + (byTtl.ephemeral_1h_input_tokens ?? 0) : undefined;
  return withCacheCounts({
    input: usage.input_tokens,
    cacheRead: usage.cache_read_input_tokens,
    cacheWrite: usage.cache_creation_input_tokens ?? split,
    cacheWrite1h: byTtl?.ephemeral_1h_input_tokens,
    output: usage.output_tokens,
  });
}

interface AnthropicBlock {
  type: string;
  text?: string;
  id?: string;
  name?: string;
  input?: unknown;
}

function anthropicToCanonical(body: {
  id?: string;
  model?: string;
  content?: AnthropicBlock[];
  stop_reason?: string;
  usage?: unknown;
}): CanonicalResponse {
  const parts: CanonicalPart[] = [];
  for (const block of body.content ?? []) {
    if (block.type === "text") parts.push({ type: "text", text: block.text ?? "" });
    if (block.type === "tool_use")
      parts.push({ type: "tool_call", id: block.id ?? "", name: block.name ?? "", arguments: JSON.stringify(block.input ?? {}) });
  }
  return {
    id: body.id ?? "",
    model: body.model ?? "",
    parts,
    finishReason: FINISH[body.stop_reason ?? ""] ?? "stop",
    usage: anthropicUsageFrom(body.usage) ?? { promptTokens: 0, completionTokens: 0, cachedTokens: 0 },
  };
}

/** message_start … content blocks … message_delta, message_stop. */
function anthropicStreamDecoder(): StreamDecoder {
  let complete = false;
  let startUsage: AnthropicUsage = {};
  const toolIndexes = new Map<number, number>();
  return {
    get complete() {
      return complete;
    },
    decode(frame: StreamFrame) {
      const event = JSON.parse(frame.data) as {
        type: string;
        index?: number;
        message?: { id?: string; model?: string; usage?: AnthropicUsage };
        content_block?: AnthropicBlock;
        delta?: { type?: string; text?: string; thinking?: string; partial_json?: string; stop_reason?: string };
        usage?: AnthropicUsage;
        error?: { message?: string };
      };
      const out: CanonicalEvent[] = [];
      switch (event.type) {
        case "message_start": {
          startUsage = event.message?.usage ?? {};
          out.push({ type: "start", id: event.message?.id ?? "", model: event.message?.model ?? "" });
          // The exact input, known from the start: what a stream cut short is billed for.
          const usage = anthropicUsageFrom(startUsage);
          if (usage) out.push({ type: "usage", usage });
          break;
        }
        case "content_block_start":
          if (event.content_block?.type === "tool_use") {
            const index = toolIndexes.size;
            toolIndexes.set(event.index ?? 0, index);
            out.push({ type: "tool_call_start", index, id: event.content_block.id ?? "", name: event.content_block.name ?? "" });
          }
          break;
        case "content_block_delta":
          if (event.delta?.type === "text_delta" && event.delta.text) out.push({ type: "text", text: event.delta.text });
          if (event.delta?.type === "thinking_delta" && event.delta.thinking) {
            out.push({ type: "reasoning", text: event.delta.thinking });
          }
          if (event.delta?.type === "input_json_delta" && event.delta.partial_json) {
            out.push({
              type: "tool_call_delta",
              index: toolIndexes.get(event.index ?? 0) ?? 0,
              arguments: event.delta.partial_json,
            });
          }
          break;
        case "message_delta":
          if (event.delta?.stop_reason) out.push({ type: "finish", reason: FINISH[event.delta.stop_reason] ?? "stop" });
          // message_delta carries the final output count; input counts may come with it or only at the start.
          out.push({
            type: "usage",
            usage: anthropicUsageFrom({ ...startUsage, ...event.usage }) ?? {
              promptTokens: 0,
              completionTokens: 0,
              cachedTokens: 0,
            },
          });
          break;
        case "message_stop":
          complete = true;
          break;
        case "error":
          throw new Error(event.error?.message ?? "the upstream reported an error");
      }
      return out;
    },
  };
}

export const anthropicCodec: UpstreamCodec = {
  encode: canonicalToAnthropicBody,
  decode: (body) => anthropicToCanonical(body as Parameters<typeof anthropicToCanonical>[0]),
  usage: (body) => anthropicUsageFrom((body as { usage?: unknown } | null)?.usage),
  streamDecoder: anthropicStreamDecoder,
};
