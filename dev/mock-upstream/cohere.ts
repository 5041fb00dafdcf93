// The mock's Cohere dialect: `/v2/chat`, `/v2/rerank` and `/v2/embed`, bodies
// and stream events shaped as Cohere sends them. As Cohere does, usage
// reports both what is billed and the raw token counts, which include the
// prompt template's own tokens: the gateway must meter the billed ones.
import type { MockAnswer, MockTurn } from "./models.ts";
import { countTokens } from "./text.ts";

/** Tokens of Cohere's prompt template: counted in `usage.tokens`, never billed. */
export const COHERE_TEMPLATE_TOKENS = 7;

type Content = string | { type?: string; text?: string; document?: { data?: unknown } }[];

export interface CohereRequest {
  model?: string;
  messages?: { role?: string; content?: Content; tool_plan?: string }[];
  tools?: { type?: string; function?: { name?: string } }[];
  max_tokens?: number;
  stream?: boolean;
}

const textOf = (content: Content | undefined): string =>
  typeof content === "string"
    ? content
    : (content ?? [])
        .map((item) =>
          item.type === "text" ? (item.text ?? "") : item.type === "document" ? String(item.document?.data ?? "") : "",
        )
        .join("");

export function cohereTurns(body: CohereRequest): MockTurn[] {
  if (!Array.isArray(body.messages)) throw new Error("messages: field required");
  return body.messages.map((message) => ({ role: message.role ?? "user", text: textOf(message.content) }));
}

export const cohereTools = (body: CohereRequest) => body.tools?.map((tool) => tool.function?.name ?? "tool");

const FINISH = { stop: "COMPLETE", length: "MAX_TOKENS", tool_calls: "TOOL_CALL", content_filter: "COMPLETE" } as const;

const usageOf = (answer: MockAnswer) => ({
  billed_units: { input_tokens: answer.promptTokens, output_tokens: answer.completionTokens },
  tokens: { input_tokens: answer.promptTokens + COHERE_TEMPLATE_TOKENS, output_tokens: answer.completionTokens },
});

export function cohereResponse(id: string, _model: string, answer: MockAnswer) {
  const call = answer.toolCall;
  return {
    id,
    finish_reason: FINISH[answer.finish],
    message: {
      role: "assistant",
      ...(call
        ? {
            tool_plan: `I will call ${call.name}.`,
            tool_calls: [{ id: call.id, type: "function", function: { name: call.name, arguments: call.arguments } }],
          }
        : { content: [{ type: "text", text: answer.text }] }),
    },
    usage: usageOf(answer),
  };
}

const event = (data: { type: string } & Record<string, unknown>) => `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`;

export function cohereStreamEvents(id: string, _model: string, answer: MockAnswer, pieces: string[]): string[] {
  const call = answer.toolCall;
  const start = event({
    type: "message-start",
    id,
    delta: { message: { role: "assistant", content: [], tool_plan: "", tool_calls: [], citations: [] } },
  });
  const end = event({ type: "message-end", delta: { finish_reason: FINISH[answer.finish], usage: usageOf(answer) } });
  if (call) {
    return [
      start,
      event({ type: "tool-plan-delta", delta: { message: { tool_plan: `I will call ${call.name}.` } } }),
      event({
        type: "tool-call-start",
        index: 0,
        delta: { message: { tool_calls: { id: call.id, type: "function", function: { name: call.name, arguments: "" } } } },
      }),
      ...pieces.map((piece) =>
        event({ type: "tool-call-delta", index: 0, delta: { message: { tool_calls: { function: { arguments: piece } } } } }),
      ),
      event({ type: "tool-call-end", index: 0 }),
      end,
    ];
  }
  return [
    start,
    event({ type: "content-start", index: 0, delta: { message: { content: { type: "text", text: "" } } } }),
    ...pieces.map((piece) => event({ type: "content-delta", index: 0, delta: { message: { content: { text: piece } } } })),
    event({ type: "content-end", index: 0 }),
    end,
  ];
}

/** Cohere's error body: an id and a message; the status says the kind. */
export const cohereError = (_status: number, message: string) => ({ id: "mock-error", message });

export const cohereStreamError = (message: string) =>
  event({ type: "message-end", delta: { finish_reason: "ERROR", error: message } });

/** `/v2/rerank`: documents scored by the words they share with the query; one search unit per 100 documents. */
export function cohereRerank(body: { query?: unknown; documents?: unknown; top_n?: unknown }) {
  if (typeof body.query !== "string" || !Array.isArray(body.documents)) {
    return { status: 400, body: cohereError(400, "invalid request: query and documents are required") };
  }
  const words = new Set(body.query.toLowerCase().split(/\W+/).filter(Boolean));
  const scored = body.documents.map((document, index) => {
    const text = typeof document === "string" ? document : String((document as { text?: unknown })?.text ?? "");
    const shared = text
      .toLowerCase()
      .split(/\W+/)
      .filter((word) => words.has(word)).length;
    return { index, relevance_score: Number((shared / (shared + 1)).toFixed(4)) };
  });
  scored.sort((a, b) => b.relevance_score - a.relevance_score || a.index - b.index);
  const topN = typeof body.top_n === "number" ? body.top_n : scored.length;
  return {
    status: 200,
    body: {
      id: "rerank-mock",
      results: scored.slice(0, topN),
      meta: {
        api_version: { version: "2" },
        billed_units: { search_units: Math.max(1, Math.ceil(body.documents.length / 100)) },
      },
    },
  };
}

/** `/v1/rerank` as vLLM answers Cohere's request: the same scores, its usage in tokens rather than search units. */
export function vllmRerank(body: { model?: unknown; query?: unknown; documents?: unknown; top_n?: unknown }) {
  const reply = cohereRerank(body);
  if (reply.status !== 200 || !("results" in reply.body)) return reply;
  const documents = body.documents as unknown[];
  const tokens = [body.query, ...documents].reduce<number>((sum, text) => sum + countTokens(String(text)), 0);
  return {
    status: 200,
    body: { id: "rerank-vllm-mock", model: body.model, usage: { total_tokens: tokens }, results: reply.body.results },
  };
}

/** `/v2/embed`: eight numbers per text, billed by its tokens. */
export function cohereEmbed(body: { texts?: unknown; input_type?: unknown; embedding_types?: unknown }) {
  const texts = body.texts;
  if (!Array.isArray(texts) || !texts.every((text): text is string => typeof text === "string")) {
    return { status: 400, body: cohereError(400, "invalid request: texts must be an array of strings") };
  }
  if (typeof body.input_type !== "string") {
    return { status: 400, body: cohereError(400, "invalid request: input_type is required for embed models v3 and higher") };
  }
  const tokens = texts.reduce((sum, text) => sum + countTokens(text), 0);
  const vector = (text: string) =>
    Array.from({ length: 8 }, (_, i) => Number((((text.charCodeAt(i % Math.max(text.length, 1)) || 0) % 97) / 97).toFixed(6)));
  return {
    status: 200,
    body: {
      id: "embed-mock",
      embeddings: { float: texts.map(vector) },
      texts,
      meta: { api_version: { version: "2" }, billed_units: { input_tokens: tokens } },
      response_type: "embeddings_by_type",
    },
  };
}
