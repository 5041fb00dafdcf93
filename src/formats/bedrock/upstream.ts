// Amazon Bedrock's Converse API seen from the provider's side: canonical
// requests encoded as Converse bodies (the model goes in the path), answers
// decoded back, and ConverseStream's events — AWS event-stream messages, one
// JSON payload each, named by their `:event-type` — decoded as they come.
import { GatewayError } from "../../http/errors.ts";
import type { TokenCounts } from "../../usage/prices.ts";
import { withCacheCounts } from "../anthropic/upstream.ts";
import {
  type CanonicalEvent,
  type CanonicalPart,
  type CanonicalRequest,
  type CanonicalResponse,
  type FinishReason,
  toolArguments,
} from "../canonical.ts";
import type { StreamDecoder, StreamFrame, UpstreamCodec } from "../types.ts";

const IMAGE_FORMATS: Record<string, string> = {
  "image/png": "png",
  "image/jpeg": "jpeg",
  "image/jpg": "jpeg",
  "image/gif": "gif",
  "image/webp": "webp",
};

function blockOf(part: CanonicalPart): Record<string, unknown> {
  switch (part.type) {
    case "text":
      return { text: part.text };
    case "image": {
      const format = part.source.kind === "base64" ? IMAGE_FORMATS[part.source.mediaType] : undefined;
      if (part.source.kind !== "base64" || !format) {
        throw new GatewayError(
          400,
          "invalid_request",
          "Bedrock takes images as inline PNG, JPEG, GIF or WebP data, not by URL.",
          { param: "messages" },
        );
      }
      return { image: { format, source: { bytes: part.source.data } } };
    }
    case "tool_call":
      return { toolUse: { toolUseId: part.id, name: part.name, input: toolArguments(part.arguments) } };
    case "tool_result":
      return {
        toolResult: {
          toolUseId: part.toolCallId,
          content: [{ text: part.content }],
          ...(part.isError && { status: "error" }),
        },
      };
  }
}

export function canonicalToConverse(request: CanonicalRequest): Record<string, unknown> {
  if (request.responseFormat) {
    throw new GatewayError(
      400,
      "invalid_request",
      "Bedrock's Converse API takes no response format; ask for JSON in the prompt, or use a tool.",
      { param: "response_format" },
    );
  }
  const body: Record<string, unknown> = {
    messages: request.messages.map((m) => ({ role: m.role, content: m.parts.map(blockOf) })),
  };
  if (request.system) body.system = [{ text: request.system }];
  const inference: Record<string, unknown> = {};
  if (request.maxTokens !== undefined) inference.maxTokens = request.maxTokens;
  if (request.temperature !== undefined) inference.temperature = request.temperature;
  if (request.topP !== undefined) inference.topP = request.topP;
  if (request.stop?.length) inference.stopSequences = request.stop;
  if (Object.keys(inference).length > 0) body.inferenceConfig = inference;
  const usesTools = request.messages.some((m) => m.parts.some((p) => p.type === "tool_call" || p.type === "tool_result"));
  // Converse has no "none": the tools are left out, unless the history holds tool blocks, which need them declared.
  if (request.tools?.length && (request.toolChoice !== "none" || usesTools)) {
    const choice = request.toolChoice;
    body.toolConfig = {
      tools: request.tools.map((t) => ({
        toolSpec: { name: t.name, ...(t.description && { description: t.description }), inputSchema: { json: t.parameters } },
      })),
      ...(choice === "required" && { toolChoice: { any: {} } }),
      ...(typeof choice === "object" && { toolChoice: { tool: { name: choice.name } } }),
    };
  }
  return body;
}

const FINISH: Record<string, FinishReason> = {
  end_turn: "stop",
  stop_sequence: "stop",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  tool_use: "tool_calls",
  guardrail_intervened: "content_filter",
  content_filtered: "content_filter",
};

interface ConverseUsage {
  inputTokens?: number;
  outputTokens?: number;
  cacheReadInputTokens?: number;
  cacheWriteInputTokens?: number;
}

/** Like Anthropic's, Bedrock's `inputTokens` leaves out cache reads and writes (kept for five minutes). */
export function converseUsageFrom(value: unknown): TokenCounts | undefined {
  if (!value || typeof value !== "object") return undefined;
  const usage = value as ConverseUsage;
  return withCacheCounts({
    input: usage.inputTokens,
    cacheRead: usage.cacheReadInputTokens,
    cacheWrite: usage.cacheWriteInputTokens,
    output: usage.outputTokens,
  });
}

interface ConverseBlock {
  text?: string;
  toolUse?: { toolUseId?: string; name?: string; input?: unknown };
}

function converseToCanonical(body: {
  output?: { message?: { content?: ConverseBlock[] } };
  stopReason?: string;
  usage?: unknown;
}): CanonicalResponse {
  const parts: CanonicalPart[] = [];
  for (const block of body.output?.message?.content ?? []) {
    if (block.text !== undefined) parts.push({ type: "text", text: block.text });
    if (block.toolUse) {
      const { toolUseId = "", name = "", input = {} } = block.toolUse;
      parts.push({ type: "tool_call", id: toolUseId, name, arguments: JSON.stringify(input) });
    }
  }
  return {
    // Converse answers carry no id of their own.
    id: `msg_bedrock_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`,
    model: "",
    parts,
    finishReason: FINISH[body.stopReason ?? ""] ?? "stop",
    usage: converseUsageFrom(body.usage) ?? { promptTokens: 0, completionTokens: 0, cachedTokens: 0 },
  };
}

/** messageStart, content blocks (start, deltas, stop), messageStop, then metadata with the usage. */
function converseStreamDecoder(): StreamDecoder {
  let complete = false;
  const toolIndexes = new Map<number, number>();
  return {
    get complete() {
      return complete;
    },
    decode(frame: StreamFrame) {
      if (frame.event?.startsWith("exception:")) {
        const { message } = JSON.parse(frame.data) as { message?: string };
        throw new Error(`${frame.event.slice("exception:".length)}: ${message ?? "the upstream reported an error"}`);
      }
      const event = JSON.parse(frame.data) as {
        contentBlockIndex?: number;
        start?: { toolUse?: { toolUseId?: string; name?: string } };
        delta?: { text?: string; toolUse?: { input?: string }; reasoningContent?: { text?: string } };
        stopReason?: string;
        usage?: unknown;
      };
      const block = event.contentBlockIndex ?? 0;
      const out: CanonicalEvent[] = [];
      switch (frame.event) {
        case "messageStart":
          out.push({ type: "start", id: `msg_bedrock_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`, model: "" });
          break;
        case "contentBlockStart":
          if (event.start?.toolUse) {
            const index = toolIndexes.size;
            toolIndexes.set(block, index);
            out.push({
              type: "tool_call_start",
              index,
              id: event.start.toolUse.toolUseId ?? "",
              name: event.start.toolUse.name ?? "",
            });
          }
          break;
        case "contentBlockDelta":
          if (event.delta?.text) out.push({ type: "text", text: event.delta.text });
          if (event.delta?.reasoningContent?.text) out.push({ type: "reasoning", text: event.delta.reasoningContent.text });
          if (event.delta?.toolUse?.input) {
            out.push({ type: "tool_call_delta", index: toolIndexes.get(block) ?? 0, arguments: event.delta.toolUse.input });
          }
          break;
        case "messageStop":
          out.push({ type: "finish", reason: FINISH[event.stopReason ?? ""] ?? "stop" });
          break;
        case "metadata": {
          const usage = converseUsageFrom(event.usage);
          if (usage) out.push({ type: "usage", usage });
          complete = true;
          break;
        }
      }
      return out;
    },
  };
}

export const converseCodec: UpstreamCodec = {
  encode: canonicalToConverse,
  decode: (body) => converseToCanonical(body as Parameters<typeof converseToCanonical>[0]),
  usage: (body) => converseUsageFrom((body as { usage?: unknown } | null)?.usage),
  streamDecoder: converseStreamDecoder,
};
