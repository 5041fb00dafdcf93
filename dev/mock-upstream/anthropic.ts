// The mock's Anthropic dialect: `/v1/messages`, bodies and stream events
// shaped as Anthropic sends them. Prompt caching as Anthropic does it: the
// prompt up to its last `cache_control` block is written to the cache the
// first time it is seen (for five minutes, or an hour with `ttl: "1h"`) and
// read from it after.
import type { MockAnswer, MockTurn } from "./models.ts";
import { countTokens } from "./text.ts";

interface AnthropicBlock {
  type?: string;
  text?: string;
  content?: unknown;
  cache_control?: { type?: string; ttl?: string };
}

export interface AnthropicRequest {
  model?: string;
  system?: string | AnthropicBlock[];
  messages?: { role?: string; content?: string | AnthropicBlock[] }[];
  tools?: { name?: string }[];
  max_tokens?: number;
  stream?: boolean;
}

const textOf = (content: unknown): string =>
  typeof content === "string"
    ? content
    : Array.isArray(content)
      ? content.map((b: AnthropicBlock) => (b.type === "text" ? (b.text ?? "") : "")).join("")
      : "";

export function anthropicTurns(body: AnthropicRequest): MockTurn[] {
  const turns: MockTurn[] = body.system ? [{ role: "system", text: textOf(body.system) }] : [];
  for (const message of body.messages ?? []) {
    const blocks = typeof message.content === "string" ? [{ type: "text", text: message.content }] : (message.content ?? []);
    const result = blocks.find((b) => b.type === "tool_result");
    if (result) turns.push({ role: "tool", text: textOf(result.content) });
    else turns.push({ role: message.role ?? "user", text: textOf(blocks) });
  }
  return turns;
}

/** Prompt prefixes in the mock's cache, oldest first; bounded. */
const cached = new Set<string>();
const CACHE_LIMIT = 5000;

/** The prompt's blocks in order: the system's, then each message's. */
function promptBlocks(body: AnthropicRequest): AnthropicBlock[] {
  const blocks = (content: string | AnthropicBlock[] | undefined): AnthropicBlock[] =>
    typeof content === "string" ? [{ type: "text", text: content }] : (content ?? []);
  return [...blocks(body.system), ...(body.messages ?? []).flatMap((message) => blocks(message.content))];
}

/** Anthropic's usage for a prompt of `promptTokens`: its cached prefix written or read, the rest as input. */
function usageOf(body: AnthropicRequest | undefined, model: string, promptTokens: number) {
  const blocks = body ? promptBlocks(body) : [];
  const last = blocks.findLastIndex((block) => block.cache_control !== undefined);
  if (last < 0) return { input_tokens: promptTokens };
  const prefix = blocks.slice(0, last + 1);
  const tokens = Math.min(
    promptTokens,
    prefix.reduce((sum, block) => sum + countTokens(block.text ?? ""), 0),
  );
  const key = JSON.stringify([model, prefix]);
  if (cached.has(key)) {
    return { input_tokens: promptTokens - tokens, cache_read_input_tokens: tokens, cache_creation_input_tokens: 0 };
  }
  cached.add(key);
  if (cached.size > CACHE_LIMIT) cached.delete(cached.values().next().value as string);
  const hour = blocks[last]?.cache_control?.ttl === "1h";
  return {
    input_tokens: promptTokens - tokens,
    cache_creation_input_tokens: tokens,
    cache_read_input_tokens: 0,
    cache_creation: { ephemeral_5m_input_tokens: hour ? 0 : tokens, ephemeral_1h_input_tokens: hour ? tokens : 0 },
  };
}

const STOP = { stop: "end_turn", length: "max_tokens", tool_calls: "tool_use", content_filter: "refusal" } as const;

export function anthropicMessage(id: string, model: string, answer: MockAnswer, body?: AnthropicRequest) {
  return {
    id,
    type: "message",
    role: "assistant",
    model,
    content: answer.toolCall
      ? [{ type: "tool_use", id: answer.toolCall.id, name: answer.toolCall.name, input: JSON.parse(answer.toolCall.arguments) }]
      : [{ type: "text", text: answer.text }],
    stop_reason: STOP[answer.finish],
    stop_sequence: null,
    usage: { ...usageOf(body, model, answer.promptTokens), output_tokens: answer.completionTokens },
  };
}

const event = (name: string, data: unknown) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;

export function anthropicStreamEvents(
  id: string,
  model: string,
  answer: MockAnswer,
  pieces: string[],
  body?: AnthropicRequest,
): string[] {
  const call = answer.toolCall;
  return [
    event("message_start", {
      type: "message_start",
      message: {
        id,
        type: "message",
        role: "assistant",
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...usageOf(body, model, answer.promptTokens), output_tokens: 1 },
      },
    }),
    event("content_block_start", {
      type: "content_block_start",
      index: 0,
      content_block: call ? { type: "tool_use", id: call.id, name: call.name, input: {} } : { type: "text", text: "" },
    }),
    event("ping", { type: "ping" }),
    ...pieces.map((piece) =>
      event("content_block_delta", {
        type: "content_block_delta",
        index: 0,
        delta: call ? { type: "input_json_delta", partial_json: piece } : { type: "text_delta", text: piece },
      }),
    ),
    event("content_block_stop", { type: "content_block_stop", index: 0 }),
    event("message_delta", {
      type: "message_delta",
      delta: { stop_reason: STOP[answer.finish], stop_sequence: null },
      usage: { output_tokens: answer.completionTokens },
    }),
    event("message_stop", { type: "message_stop" }),
  ];
}

export function anthropicError(status: number, message: string) {
  const type =
    status === 429
      ? "rate_limit_error"
      : status === 529
        ? "overloaded_error"
        : status >= 500
          ? "api_error"
          : status === 401
            ? "authentication_error"
            : status === 404
              ? "not_found_error"
              : "invalid_request_error";
  return { type: "error", error: { type, message } };
}
