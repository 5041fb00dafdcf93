// OpenAI's embeddings API served by Cohere's `/v2/embed`: the request's
// texts go up as Cohere's (`input_type` as the client gives it, else
// `search_document`), and the answer comes back as OpenAI's list, its usage
// from what Cohere billed.
import { openaiEmbeddingsCodec } from "../../formats/openai/upstream.ts";
import type { EndpointCall } from "../types.ts";

interface CohereEmbedAnswer {
  id?: string;
  embeddings?: { float?: number[][] };
  meta?: { billed_units?: { input_tokens?: number }; tokens?: { input_tokens?: number } };
}

const textsOf = (input: unknown): unknown[] => (Array.isArray(input) ? input : [input]);

/** A float vector as OpenAI's base64: little-endian float32 bytes. */
function base64Of(vector: number[]): string {
  const bytes = new Uint8Array(new Float32Array(vector).buffer);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function openaiList(answer: unknown, model: string, base64: boolean): unknown {
  const cohere = answer as CohereEmbedAnswer | null;
  const vectors = cohere?.embeddings?.float;
  if (!vectors) return answer;
  const tokens = cohere?.meta?.billed_units?.input_tokens ?? cohere?.meta?.tokens?.input_tokens ?? 0;
  return {
    object: "list",
    data: vectors.map((embedding, index) => ({
      object: "embedding",
      index,
      embedding: base64 ? base64Of(embedding) : embedding,
    })),
    model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}

/** OpenAI's body as Cohere's. */
export function cohereEmbedBody(call: EndpointCall): Record<string, unknown> {
  const { input, dimensions, encoding_format: _encoding, user: _user, input_type: inputType, ...rest } = call.body;
  return {
    ...rest,
    model: call.upstreamModel,
    texts: textsOf(input),
    input_type: inputType ?? "search_document",
    embedding_types: ["float"],
    ...(dimensions !== undefined && { output_dimension: dimensions }),
  };
}

/** Cohere's answer as OpenAI's list, floats or base64 as the client asked. */
export const cohereEmbedAnswer = (call: { upstreamModel: string; body?: Record<string, unknown> }) => (answer: unknown) =>
  openaiList(answer, call.upstreamModel, call.body?.encoding_format === "base64");

export { openaiEmbeddingsCodec as cohereEmbedCodec };
