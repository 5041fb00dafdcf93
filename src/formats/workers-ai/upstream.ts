// Workers AI's text generation, seen from the provider's side: inputs for
// `env.AI.run(model, inputs)` (OpenAI-style messages and tools, which its
// models take), answers decoded back. Most models answer `{response,
// tool_calls, usage}` and stream server-sent events of `{response}` pieces,
// the usage on the last one, then `[DONE]`; newer ones answer as OpenAI's chat
// completions, which are read as such.
import { GatewayError } from "../../http/errors.ts";
import type { TokenCounts } from "../../usage/prices.ts";
import type { CanonicalEvent, CanonicalPart, CanonicalRequest, CanonicalResponse } from "../canonical.ts";
import { canonicalToOpenAI, openaiChatCodec, openaiUsageFrom } from "../openai/upstream.ts";
import type { StreamDecoder, StreamFrame, UpstreamCodec } from "../types.ts";

export function canonicalToWorkersAi(request: CanonicalRequest): Record<string, unknown> {
  if (request.messages.some((m) => m.parts.some((p) => p.type === "image"))) {
    throw new GatewayError(400, "invalid_request", "Workers AI's text models take no images here.", { param: "messages" });
  }
  const { tool_choice, stop: _stop, reasoning_effort: _effort, ...body } = canonicalToOpenAI(request);
  // Its message schema wants text content, even beside tool calls.
  body.messages = (body.messages as Record<string, unknown>[]).map((m) => (m.content === null ? { ...m, content: "" } : m));
  // It has no tool choice: "none" leaves the tools out.
  if (tool_choice === "none") delete body.tools;
  return body;
}

/** A tool call as the older models write it (`{name, arguments}`, arguments an object) or as OpenAI's. */
interface WorkersAiToolCall {
  id?: string;
  name?: string;
  arguments?: unknown;
  function?: { name?: string; arguments?: string };
}

const argumentsText = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value ?? {}));

function toolCallOf(call: WorkersAiToolCall, index: number): Extract<CanonicalPart, { type: "tool_call" }> {
  return {
    type: "tool_call",
    id: call.id ?? `call_${index}_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`,
    name: call.function?.name ?? call.name ?? "",
    arguments: call.function ? (call.function.arguments ?? "{}") : argumentsText(call.arguments),
  };
}

interface WorkersAiAnswer {
  response?: unknown;
  tool_calls?: WorkersAiToolCall[];
  usage?: unknown;
  choices?: unknown;
}

const ZERO: TokenCounts = { promptTokens: 0, completionTokens: 0, cachedTokens: 0 };

function workersAiToCanonical(body: WorkersAiAnswer): CanonicalResponse {
  if (Array.isArray(body.choices)) return openaiChatCodec.decode(body);
  const parts: CanonicalPart[] = [];
  // A model held to JSON answers with the object itself.
  const text = typeof body.response === "string" ? body.response : body.response == null ? "" : JSON.stringify(body.response);
  if (text) parts.push({ type: "text", text });
  const calls = (body.tool_calls ?? []).map(toolCallOf);
  parts.push(...calls);
  return {
    id: `chatcmpl-workers-ai-${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`,
    model: "",
    parts,
    finishReason: calls.length > 0 ? "tool_calls" : "stop",
    usage: openaiUsageFrom(body.usage) ?? ZERO,
  };
}

function workersAiStreamDecoder(): StreamDecoder {
  let complete = false;
  let started = false;
  let calls = 0;
  /** Set once a chunk shows the OpenAI shape: the rest is read as OpenAI's. */
  let openai: StreamDecoder | undefined;
  return {
    get complete() {
      return complete || (openai?.complete ?? false);
    },
    decode(frame: StreamFrame): CanonicalEvent[] {
      if (frame.data === "[DONE]") {
        if (openai) return openai.decode(frame);
        complete = true;
        return [{ type: "finish", reason: calls > 0 ? "tool_calls" : "stop" }];
      }
      const chunk = JSON.parse(frame.data) as WorkersAiAnswer & { error?: unknown; errors?: unknown };
      if (openai || Array.isArray(chunk.choices)) {
        openai ??= openaiChatCodec.streamDecoder();
        return openai.decode(frame);
      }
      if (chunk.error !== undefined || chunk.errors !== undefined) {
        throw new Error(`Workers AI reported an error: ${JSON.stringify(chunk.error ?? chunk.errors)}`);
      }
      const out: CanonicalEvent[] = [];
      if (!started) {
        started = true;
        out.push({ type: "start", id: `chatcmpl-workers-ai-${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`, model: "" });
      }
      if (typeof chunk.response === "string" && chunk.response) out.push({ type: "text", text: chunk.response });
      for (const call of chunk.tool_calls ?? []) {
        const whole = toolCallOf(call, calls);
        out.push({ type: "tool_call_start", index: calls, id: whole.id, name: whole.name });
        out.push({ type: "tool_call_delta", index: calls, arguments: whole.arguments });
        calls++;
      }
      const usage = openaiUsageFrom(chunk.usage);
      if (usage) out.push({ type: "usage", usage });
      return out;
    },
  };
}

export const workersAiCodec: UpstreamCodec = {
  encode: canonicalToWorkersAi,
  decode: (body) => workersAiToCanonical(body as WorkersAiAnswer),
  usage: (body) => {
    const answer = body as WorkersAiAnswer | null;
    return openaiUsageFrom(answer?.usage);
  },
  streamDecoder: workersAiStreamDecoder,
};
