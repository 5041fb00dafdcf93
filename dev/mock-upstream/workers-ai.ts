// The mock's Workers AI: its REST API's `POST /ai/run/{model}` (the model's
// inputs as the body; `{result, success, errors}` back), which the stand-in
// binding (dev/standins/workers-ai-binding.ts) calls and unwraps as
// `env.AI.run` does, and `npm run dev` reaches through the gateway's REST
// transport. Text models answer `{response, tool_calls, usage}` and stream
// `{response}` pieces, the usage on the last, then `[DONE]`; inputs with
// `text` are an embedding model's. Workers AI's own ids (`@cf/…`, `@hf/…`)
// are answered by `mock-echo`, so its real model names work offline.
import type { MockAnswer, MockTurn } from "./models.ts";
import { countTokens } from "./text.ts";

export const WORKERS_AI_PATH = /^\/ai\/run\/(.+)$/;

/** The mock model that answers a Workers AI model id. */
export const workersAiModel = (model: string) => (/^@(cf|hf)\//.test(model) ? "mock-echo" : model);

export interface WorkersAiRequest {
  messages?: { role?: string; content?: string }[];
  tools?: { name?: string; function?: { name?: string } }[];
  max_tokens?: number;
  stream?: boolean;
  text?: unknown;
}

export const workersAiTurns = (body: WorkersAiRequest): MockTurn[] =>
  (body.messages ?? []).map((m) => ({ role: m.role ?? "user", text: typeof m.content === "string" ? m.content : "" }));

export const workersAiTools = (body: WorkersAiRequest) => body.tools?.map((t) => t.function?.name ?? t.name ?? "tool");

const usage = (answer: MockAnswer) => ({
  prompt_tokens: answer.promptTokens,
  completion_tokens: answer.completionTokens,
  total_tokens: answer.promptTokens + answer.completionTokens,
});

/** Tool calls as its older models write them: a name and an arguments object, no id. */
const toolCalls = (answer: MockAnswer) =>
  answer.toolCall ? [{ name: answer.toolCall.name, arguments: JSON.parse(answer.toolCall.arguments) }] : undefined;

const result = (value: unknown) => ({ result: value, success: true, errors: [], messages: [] });

export function workersAiResponse(_id: string, _model: string, answer: MockAnswer) {
  const calls = toolCalls(answer);
  return result({ response: answer.text, ...(calls && { tool_calls: calls }), usage: usage(answer) });
}

const event = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;

export function workersAiStreamEvents(_id: string, _model: string, answer: MockAnswer, pieces: string[]): string[] {
  const calls = toolCalls(answer);
  return [
    ...(calls ? [event({ response: "", tool_calls: calls })] : pieces.map((piece) => event({ response: piece, p: "abcdef" }))),
    event({ response: "", usage: usage(answer) }),
    "data: [DONE]\n\n",
  ];
}

export function workersAiError(status: number, message: string) {
  const code = status === 404 ? 5007 : status === 429 ? 3040 : status === 400 ? 5006 : 3043;
  return { result: null, success: false, errors: [{ code, message }], messages: [] };
}

/** An embedding model's answer: one vector per text, as bge models give them; no token counts. */
export function workersAiEmbeddings(text: unknown) {
  const texts = typeof text === "string" ? [text] : Array.isArray(text) ? text.map(String) : [];
  const data = texts.map((t) =>
    Array.from({ length: 8 }, (_, i) => Number((((t.charCodeAt(i % Math.max(t.length, 1)) || 0) % 97) / 97).toFixed(6))),
  );
  return {
    texts: texts.length,
    tokens: texts.reduce((sum, t) => sum + countTokens(t), 0),
    body: result({ shape: [data.length, 8], data, pooling: "cls" }),
  };
}
