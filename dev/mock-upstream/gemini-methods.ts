// The mock's methods beside generation: Gemini's `embedContent`,
// `batchEmbedContents`, `countTokens` and Imagen's `predict`, on the Gemini API's paths and on
// Vertex AI's (which also report the tokens an embedding used), and
// Anthropic's `/v1/messages/count_tokens`. Each refuses what its provider
// refuses (a batch request naming another model, a field count_tokens does
// not take), so a gateway that sends the wrong body finds out here.
import { geminiTurns } from "./gemini.ts";
import { imagenAnswer } from "./google-media.ts";
import { countTokens } from "./text.ts";

export const GEMINI_METHOD_PATH = /^\/v1(?:beta|alpha)?\/models\/([^/:]+):(embedContent|batchEmbedContents|countTokens|predict)$/;
export const VERTEX_METHOD_PATH =
  /^\/v1\/projects\/[^/]+\/locations\/[^/]+\/publishers\/google\/models\/([^/:]+):(embedContent|batchEmbedContents|countTokens|predict)$/;
export const ANTHROPIC_COUNT_PATH = "/v1/messages/count_tokens";

type Answer = { status: number; body: unknown };

interface EmbedRequest {
  model?: string;
  content?: { parts?: { text?: string }[] };
}

/** Eight numbers per text, the same every time for the same text (as the mock's OpenAI embeddings). */
const vector = (text: string) =>
  Array.from({ length: 8 }, (_, i) => Number((((text.charCodeAt(i % Math.max(text.length, 1)) || 0) % 97) / 97).toFixed(6)));

const textOf = (request: EmbedRequest) => (request.content?.parts ?? []).map((part) => part.text ?? "").join("");

const invalid = (message: string): Answer => ({
  status: 400,
  body: { error: { code: 400, message, status: "INVALID_ARGUMENT" } },
});

/** Gemini's three methods; `vertex` answers as Vertex AI does, with the tokens an embedding used. */
export function answerGeminiMethod(input: { model: string; method: string; body: unknown; vertex: boolean }): Answer {
  const body = (input.body ?? {}) as Record<string, unknown>;
  if (input.method === "predict") return imagenAnswer(input.body, input.model);
  const usage = (tokens: number) =>
    input.vertex ? { usageMetadata: { promptTokenCount: tokens, totalTokenCount: tokens } } : {};
  if (input.method === "embedContent") {
    const request = body as EmbedRequest;
    if (!request.content?.parts) return invalid("* EmbedContentRequest.content: contents is not specified");
    const text = textOf(request);
    return { status: 200, body: { embedding: { values: vector(text) }, ...usage(countTokens(text)) } };
  }
  if (input.method === "batchEmbedContents") {
    const requests = (body.requests ?? []) as EmbedRequest[];
    if (!Array.isArray(requests) || requests.length === 0) return invalid("* BatchEmbedContentsRequest.requests: is empty");
    const stray = requests.find((request) => request.model !== `models/${input.model}`);
    if (stray) {
      return invalid(
        `Model "${stray.model ?? ""}" in request (index ${requests.indexOf(stray)}) doesn't match model "models/${input.model}" of the batch.`,
      );
    }
    const texts = requests.map(textOf);
    const tokens = texts.reduce((sum, text) => sum + countTokens(text), 0);
    return { status: 200, body: { embeddings: texts.map((text) => ({ values: vector(text) })), ...usage(tokens) } };
  }
  const generate = body.generateContentRequest as (Parameters<typeof geminiTurns>[0] & { model?: string }) | undefined;
  if (generate && generate.model !== `models/${input.model}`) {
    return invalid(`generateContentRequest.model "${generate.model ?? ""}" doesn't match "models/${input.model}".`);
  }
  const turns = geminiTurns(generate ?? { contents: body.contents as never });
  const total = turns.reduce((sum, turn) => sum + countTokens(turn.text), 0);
  return {
    status: 200,
    body: {
      totalTokens: total,
      ...(input.vertex && { totalBillableCharacters: turns.reduce((sum, turn) => sum + turn.text.length, 0) }),
      promptTokensDetails: [{ modality: "TEXT", tokenCount: total }],
    },
  };
}

/** The fields Anthropic's count_tokens takes; any other is refused, as Anthropic does. */
const COUNT_FIELDS = new Set(["model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers"]);

interface AnthropicCountBody {
  model?: string;
  messages?: { content?: string | { text?: string }[] }[];
  system?: string | { text?: string }[];
}

const blocksText = (content: string | { text?: string }[] | undefined) =>
  typeof content === "string" ? content : (content ?? []).map((block) => block.text ?? "").join("");

export function answerAnthropicCount(body: unknown): Answer {
  const request = (body ?? {}) as AnthropicCountBody & Record<string, unknown>;
  const error = (message: string): Answer => ({
    status: 400,
    body: { type: "error", error: { type: "invalid_request_error", message } },
  });
  const extra = Object.keys(request).find((field) => !COUNT_FIELDS.has(field));
  if (extra) return error(`${extra}: Extra inputs are not permitted`);
  if (!request.model) return error("model: Field required");
  if (!Array.isArray(request.messages)) return error("messages: Field required");
  const texts = [blocksText(request.system), ...request.messages.map((message) => blocksText(message.content))];
  return { status: 200, body: { input_tokens: texts.reduce((sum, text) => sum + countTokens(text), 0) } };
}
