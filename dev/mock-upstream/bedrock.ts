// The mock's Bedrock dialect: `POST /model/{modelId}/converse` and
// `/converse-stream`, bodies shaped as the Converse API takes and answers
// them, streams as AWS event-stream messages.
import { encodeEventStreamMessage } from "../../src/http/event-stream.ts";
import type { MockAnswer, MockTurn } from "./models.ts";

interface ConverseBlock {
  text?: string;
  toolUse?: { toolUseId?: string; name?: string; input?: unknown };
  toolResult?: { toolUseId?: string; content?: { text?: string; json?: unknown }[] };
}

export interface ConverseRequest {
  system?: { text?: string }[];
  messages?: { role?: string; content?: ConverseBlock[] }[];
  inferenceConfig?: { maxTokens?: number };
  toolConfig?: { tools?: { toolSpec?: { name?: string } }[] };
}

export const CONVERSE_PATH = /^\/model\/([^/]+)\/(converse|converse-stream)$/;

const textOf = (blocks: ConverseBlock[] | undefined) => (blocks ?? []).map((b) => b.text ?? "").join("");

export function converseTurns(body: ConverseRequest): MockTurn[] {
  const turns: MockTurn[] = body.system?.length ? [{ role: "system", text: textOf(body.system) }] : [];
  for (const message of body.messages ?? []) {
    const result = message.content?.find((b) => b.toolResult)?.toolResult;
    if (result) {
      const text = (result.content ?? []).map((c) => c.text ?? JSON.stringify(c.json ?? "")).join("");
      turns.push({ role: "tool", text });
    } else turns.push({ role: message.role ?? "user", text: textOf(message.content) });
  }
  return turns;
}

export const converseTools = (body: ConverseRequest) => body.toolConfig?.tools?.map((t) => t.toolSpec?.name ?? "tool");

const STOP = { stop: "end_turn", length: "max_tokens", tool_calls: "tool_use", content_filter: "content_filtered" } as const;

const usage = (answer: MockAnswer) => ({
  inputTokens: answer.promptTokens,
  outputTokens: answer.completionTokens,
  totalTokens: answer.promptTokens + answer.completionTokens,
});

export function converseResponse(_id: string, _model: string, answer: MockAnswer) {
  const call = answer.toolCall;
  return {
    output: {
      message: {
        role: "assistant",
        content: call
          ? [{ toolUse: { toolUseId: call.id, name: call.name, input: JSON.parse(call.arguments) } }]
          : [{ text: answer.text }],
      },
    },
    stopReason: STOP[answer.finish],
    usage: usage(answer),
    metrics: { latencyMs: 1 },
  };
}

const message = (type: string, payload: unknown) =>
  encodeEventStreamMessage(
    { ":event-type": type, ":content-type": "application/json", ":message-type": "event" },
    new TextEncoder().encode(JSON.stringify(payload)),
  );

export function converseStreamEvents(_id: string, _model: string, answer: MockAnswer, pieces: string[]): Uint8Array[] {
  const call = answer.toolCall;
  return [
    message("messageStart", { role: "assistant" }),
    ...(call
      ? [message("contentBlockStart", { contentBlockIndex: 0, start: { toolUse: { toolUseId: call.id, name: call.name } } })]
      : []),
    ...pieces.map((piece) =>
      message("contentBlockDelta", { contentBlockIndex: 0, delta: call ? { toolUse: { input: piece } } : { text: piece } }),
    ),
    message("contentBlockStop", { contentBlockIndex: 0 }),
    message("messageStop", { stopReason: STOP[answer.finish] }),
    message("metadata", { usage: usage(answer), metrics: { latencyMs: 1 } }),
  ];
}

/** Bedrock's errors: a message, with the exception's name in a header. */
export function converseError(_status: number, text: string) {
  return { message: text };
}

export function converseErrorType(status: number): string {
  if (status === 429) return "ThrottlingException";
  if (status === 403) return "AccessDeniedException";
  if (status === 404) return "ResourceNotFoundException";
  if (status === 400) return "ValidationException";
  if (status === 503) return "ServiceUnavailableException";
  return "InternalServerException";
}
