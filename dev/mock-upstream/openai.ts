// The mock's OpenAI dialect: `/v1/chat/completions` and `/v1/models`,
// bodies and stream chunks shaped as OpenAI sends them.
import type { MockAnswer, MockTurn } from "./models.ts";

interface OpenAIMessage {
  role?: string;
  content?: string | { type?: string; text?: string }[] | null;
}

export interface OpenAIChatRequest {
  model?: string;
  messages?: OpenAIMessage[];
  tools?: { function?: { name?: string } }[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  max_tokens?: number;
  max_completion_tokens?: number;
}

export function openaiTurns(body: OpenAIChatRequest): MockTurn[] {
  return (body.messages ?? []).map((message) => ({
    role: message.role ?? "user",
    text:
      typeof message.content === "string"
        ? message.content
        : (message.content ?? []).map((part) => (part.type === "text" ? (part.text ?? "") : "")).join(""),
  }));
}

export function openaiUsage(answer: MockAnswer) {
  return {
    prompt_tokens: answer.promptTokens,
    completion_tokens: answer.completionTokens,
    total_tokens: answer.promptTokens + answer.completionTokens,
  };
}

export function openaiCompletion(id: string, model: string, answer: MockAnswer) {
  return {
    id,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: answer.toolCall ? null : answer.text,
          refusal: null,
          ...(answer.toolCall && {
            tool_calls: [
              {
                id: answer.toolCall.id,
                type: "function",
                function: { name: answer.toolCall.name, arguments: answer.toolCall.arguments },
              },
            ],
          }),
        },
        logprobs: null,
        finish_reason: answer.finish,
      },
    ],
    usage: openaiUsage(answer),
    system_fingerprint: "fp_mock",
  };
}

/** The SSE events of a streamed answer, in OpenAI's order, `[DONE]` last. */
export function openaiStreamEvents(
  id: string,
  model: string,
  answer: MockAnswer,
  pieces: string[],
  includeUsage: boolean,
): string[] {
  const created = Math.floor(Date.now() / 1000);
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      id,
      object: "chat.completion.chunk",
      created,
      model,
      system_fingerprint: "fp_mock",
      choices,
      ...(includeUsage ? { usage: null } : {}),
      ...extra,
    });
  const events = [
    chunk([
      { index: 0, delta: { role: "assistant", content: answer.toolCall ? null : "" }, logprobs: null, finish_reason: null },
    ]),
  ];
  const call = answer.toolCall;
  if (call) {
    // The call's id and name first, then its arguments in pieces, as OpenAI streams them.
    const head = { index: 0, id: call.id, type: "function", function: { name: call.name, arguments: "" } };
    events.push(chunk([{ index: 0, delta: { tool_calls: [head] }, logprobs: null, finish_reason: null }]));
    for (const piece of pieces) {
      events.push(
        chunk([
          {
            index: 0,
            delta: { tool_calls: [{ index: 0, function: { arguments: piece } }] },
            logprobs: null,
            finish_reason: null,
          },
        ]),
      );
    }
  } else {
    for (const piece of pieces) {
      events.push(chunk([{ index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }]));
    }
  }
  // Asked, usage comes in a chunk of its own, as OpenAI sends it; unasked, on the last chunk,
  // as Mistral and other OpenAI-compatible servers send it.
  const unasked = includeUsage ? {} : { usage: openaiUsage(answer) };
  events.push(chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: answer.finish }], unasked));
  if (includeUsage) events.push(chunk([], { usage: openaiUsage(answer) }));
  return [...events.map((data) => `data: ${data}\n\n`), "data: [DONE]\n\n"];
}

export function openaiError(status: number, message: string) {
  const type = status === 429 ? "rate_limit_exceeded" : status >= 500 ? "server_error" : "invalid_request_error";
  return { error: { message, type, param: null, code: status === 404 ? "model_not_found" : null } };
}

export function openaiModelList(models: readonly string[]) {
  return {
    object: "list",
    data: models.map((id) => ({ id, object: "model", created: 1700000000, owned_by: "sluice-mock" })),
  };
}

/** A legacy completion: the same answer, as `text_completion`. */
export function openaiTextCompletion(id: string, model: string, answer: MockAnswer) {
  return {
    id,
    object: "text_completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ text: answer.text, index: 0, logprobs: null, finish_reason: answer.finish }],
    usage: openaiUsage(answer),
  };
}

export function openaiTextCompletionEvents(
  id: string,
  model: string,
  answer: MockAnswer,
  pieces: string[],
  includeUsage: boolean,
): string[] {
  const created = Math.floor(Date.now() / 1000);
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ id, object: "text_completion", created, model, choices, ...extra })}\n\n`;
  return [
    ...pieces.map((text) => chunk([{ text, index: 0, logprobs: null, finish_reason: null }])),
    chunk(
      [{ text: "", index: 0, logprobs: null, finish_reason: answer.finish }],
      includeUsage ? {} : { usage: openaiUsage(answer) },
    ),
    ...(includeUsage ? [chunk([], { usage: openaiUsage(answer) })] : []),
    "data: [DONE]\n\n",
  ];
}

/** Eight numbers per input, the same every time for the same text. */
export function openaiEmbeddings(model: string, inputs: string[], promptTokens: number) {
  return {
    object: "list",
    data: inputs.map((text, index) => ({
      object: "embedding",
      index,
      embedding: Array.from({ length: 8 }, (_, i) =>
        Number((((text.charCodeAt(i % Math.max(text.length, 1)) || 0) % 97) / 97).toFixed(6)),
      ),
    })),
    model,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
}
