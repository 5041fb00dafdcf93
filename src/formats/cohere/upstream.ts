// Cohere's v2 chat API seen from the provider's side: canonical requests
// encoded as `/v2/chat` bodies, answers and stream events decoded back.
// Usage is what Cohere bills (`usage.billed_units`), or its raw token counts
// (`usage.tokens`) where a compatible server reports only those.
import type { TokenCounts } from "../../usage/prices.ts";
import type { CanonicalEvent, CanonicalPart, CanonicalRequest, CanonicalResponse, FinishReason } from "../canonical.ts";
import type { StreamDecoder, StreamFrame, UpstreamCodec } from "../types.ts";

interface CohereTokens {
  input_tokens?: number;
  output_tokens?: number;
}

export interface CohereUsage {
  billed_units?: CohereTokens & { search_units?: number; classifications?: number };
  tokens?: CohereTokens;
  cached_tokens?: number;
}

/** Cohere's `usage` as token counts: what it billed, else what it counted; undefined when there is none. */
export function cohereUsageFrom(value: unknown): TokenCounts | undefined {
  if (!value || typeof value !== "object") return undefined;
  const usage = value as CohereUsage;
  const billed = usage.billed_units;
  const counted = billed?.input_tokens !== undefined || billed?.output_tokens !== undefined ? billed : usage.tokens;
  if (!counted) return undefined;
  const promptTokens = counted.input_tokens ?? 0;
  return {
    promptTokens,
    completionTokens: counted.output_tokens ?? 0,
    cachedTokens: Math.min(promptTokens, usage.cached_tokens ?? 0),
  };
}

const imageUrl = (part: Extract<CanonicalPart, { type: "image" }>) =>
  part.source.kind === "url" ? part.source.url : `data:${part.source.mediaType};base64,${part.source.data}`;

function userContent(parts: CanonicalPart[]): string | Record<string, unknown>[] {
  const media = parts.filter((p) => p.type === "text" || p.type === "image");
  if (media.every((p) => p.type === "text")) return media.map((p) => (p.type === "text" ? p.text : "")).join("");
  return media.map((p) =>
    p.type === "image"
      ? { type: "image_url", image_url: { url: imageUrl(p) } }
      : { type: "text", text: p.type === "text" ? p.text : "" },
  );
}

function messagesOf(request: CanonicalRequest): Record<string, unknown>[] {
  const messages: Record<string, unknown>[] = request.system ? [{ role: "system", content: request.system }] : [];
  for (const message of request.messages) {
    if (message.role === "assistant") {
      const text = message.parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("");
      const calls = message.parts.flatMap((p) =>
        p.type === "tool_call"
          ? [{ id: p.id, type: "function", function: { name: p.name, arguments: p.arguments || "{}" } }]
          : [],
      );
      // Cohere calls the text ahead of an assistant's tool calls its tool plan.
      if (calls.length > 0) messages.push({ role: "assistant", ...(text && { tool_plan: text }), tool_calls: calls });
      else messages.push({ role: "assistant", content: text });
      continue;
    }
    for (const part of message.parts) {
      if (part.type === "tool_result") messages.push({ role: "tool", tool_call_id: part.toolCallId, content: part.content });
    }
    if (message.parts.some((p) => p.type === "text" || p.type === "image"))
      messages.push({ role: "user", content: userContent(message.parts) });
  }
  return messages;
}

export function canonicalToCohereBody(request: CanonicalRequest): Record<string, unknown> {
  const body: Record<string, unknown> = { messages: messagesOf(request) };
  let tools = request.tools;
  const choice = request.toolChoice;
  // Cohere's tool choice is REQUIRED or NONE; one named tool is the only tool offered, and required.
  if (typeof choice === "object") tools = tools?.filter((tool) => tool.name === choice.name);
  if (tools?.length) {
    body.tools = tools.map((t) => ({
      type: "function",
      function: { name: t.name, ...(t.description && { description: t.description }), parameters: t.parameters },
    }));
  }
  if (choice === "required" || typeof choice === "object") body.tool_choice = "REQUIRED";
  if (choice === "none") body.tool_choice = "NONE";
  if (request.maxTokens !== undefined) body.max_tokens = request.maxTokens;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.topP !== undefined) body.p = request.topP;
  if (request.stop?.length) body.stop_sequences = request.stop;
  if (request.responseFormat?.type === "json") body.response_format = { type: "json_object" };
  if (request.responseFormat?.type === "json_schema")
    body.response_format = { type: "json_object", json_schema: request.responseFormat.schema };
  if (request.stream) body.stream = true;
  return body;
}

const FINISH: Record<string, FinishReason> = {
  COMPLETE: "stop",
  STOP_SEQUENCE: "stop",
  MAX_TOKENS: "length",
  TOOL_CALL: "tool_calls",
};
export const cohereFinish = (reason: unknown): FinishReason => FINISH[String(reason)] ?? "stop";

interface CohereToolCall {
  id?: string;
  function?: { name?: string; arguments?: string };
}

export interface CohereChatAnswer {
  id?: string;
  finish_reason?: string;
  message?: { content?: { type?: string; text?: string }[]; tool_calls?: CohereToolCall[] };
  usage?: unknown;
}

export function cohereToCanonicalResponse(body: CohereChatAnswer): CanonicalResponse {
  const parts: CanonicalPart[] = [];
  for (const item of body.message?.content ?? []) {
    if (item.type === "text" && item.text) parts.push({ type: "text", text: item.text });
  }
  for (const call of body.message?.tool_calls ?? []) {
    parts.push({
      type: "tool_call",
      id: call.id ?? "",
      name: call.function?.name ?? "",
      arguments: call.function?.arguments ?? "{}",
    });
  }
  return {
    id: body.id ?? "",
    model: "",
    parts,
    finishReason: cohereFinish(body.finish_reason),
    usage: cohereUsageFrom(body.usage) ?? { promptTokens: 0, completionTokens: 0, cachedTokens: 0 },
  };
}

interface CohereStreamEvent {
  type?: string;
  id?: string;
  index?: number;
  delta?: {
    message?: {
      content?: { type?: string; text?: string; thinking?: string };
      tool_plan?: string;
      tool_calls?: CohereToolCall;
    };
    finish_reason?: string;
    error?: string;
    usage?: unknown;
  };
}

/** message-start, content-* and tool-call-* events, message-end with the reason and usage; `[DONE]` where sent. */
function cohereStreamDecoder(): StreamDecoder {
  let complete = false;
  /** Cohere's tool-call index → the canonical one. */
  const tools = new Map<number, number>();
  return {
    get complete() {
      return complete;
    },
    decode(frame: StreamFrame) {
      if (frame.data === "[DONE]") {
        complete = true;
        return [];
      }
      const event = JSON.parse(frame.data) as CohereStreamEvent;
      const message = event.delta?.message;
      const out: CanonicalEvent[] = [];
      switch (event.type ?? frame.event) {
        case "message-start":
          out.push({ type: "start", id: event.id ?? "", model: "" });
          break;
        case "content-start":
        case "content-delta":
          if (message?.content?.text) out.push({ type: "text", text: message.content.text });
          if (message?.content?.thinking) out.push({ type: "reasoning", text: message.content.thinking });
          break;
        case "tool-plan-delta":
          // The model's plan ahead of its tool calls: its thinking out loud, billed as output.
          if (message?.tool_plan) out.push({ type: "reasoning", text: message.tool_plan });
          break;
        case "tool-call-start": {
          const index = tools.size;
          tools.set(event.index ?? index, index);
          const call = message?.tool_calls;
          out.push({ type: "tool_call_start", index, id: call?.id ?? `call_${index}`, name: call?.function?.name ?? "" });
          if (call?.function?.arguments) out.push({ type: "tool_call_delta", index, arguments: call.function.arguments });
          break;
        }
        case "tool-call-delta": {
          const args = message?.tool_calls?.function?.arguments;
          if (args) out.push({ type: "tool_call_delta", index: tools.get(event.index ?? 0) ?? 0, arguments: args });
          break;
        }
        case "message-end": {
          const usage = cohereUsageFrom(event.delta?.usage);
          if (usage) out.push({ type: "usage", usage });
          if (event.delta?.finish_reason === "ERROR" || event.delta?.error) {
            throw new Error(event.delta?.error || "the upstream reported an error");
          }
          out.push({ type: "finish", reason: cohereFinish(event.delta?.finish_reason) });
          complete = true;
          break;
        }
      }
      return out;
    },
  };
}

export const cohereChatCodec: UpstreamCodec = {
  encode: canonicalToCohereBody,
  decode: (body) => cohereToCanonicalResponse(body as CohereChatAnswer),
  usage: (body) => cohereUsageFrom((body as { usage?: unknown } | null)?.usage),
  streamDecoder: cohereStreamDecoder,
};
