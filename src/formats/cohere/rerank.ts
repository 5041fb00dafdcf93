// Cohere's rerank API (`POST /v2/rerank`): a query and documents in, the
// documents' relevance out. Served only by providers that speak it (Cohere,
// and compatible servers such as vLLM), so bodies are forwarded as sent and
// read back for their usage: Cohere bills search units, priced as the
// provider's `search_units` fee; a server that counts tokens reports those.
import type { TokenCounts } from "../../usage/prices.ts";
import * as z from "../../zod.ts";
import { modelName, positiveInt, providerName, withoutProvider } from "../fields.ts";
import type { ClientFormat, UpstreamCodec } from "../types.ts";

export const cohereRerankSchema = z.looseObject({
  model: modelName,
  query: z.string({ message: "must be a string" }),
  // v2 takes strings; v1's `{text}` objects are kept for servers that still read them.
  documents: z.array(z.union([z.string(), z.record(z.string(), z.unknown())]), {
    message: "must be an array of documents",
  }),
  top_n: z.optional(positiveInt),
  max_tokens_per_doc: z.optional(positiveInt),
  provider: z.optional(providerName),
});

export type CohereRerankBody = z.infer<typeof cohereRerankSchema>;

export const cohereRerank: ClientFormat<CohereRerankBody> = {
  name: "cohere-rerank",
  dialect: "cohere-rerank",
  errors: "cohere",
  schema: cohereRerankSchema,
  facts: (body) => ({ model: body.model, stream: false, provider: body.provider }),
  forwarded: withoutProvider,
  // Rerank generates nothing: only its input is reserved.
  prompt: (body) => [body.query, body.documents],
};

interface RerankAnswer {
  meta?: { billed_units?: { search_units?: number; input_tokens?: number }; tokens?: { input_tokens?: number } };
  /** vLLM's and other compatible servers' count. */
  usage?: { total_tokens?: number; prompt_tokens?: number };
}

/** A rerank answer's usage: its search units as calls of the `search_units` fee, and any tokens counted. */
export function rerankUsageFrom(body: unknown): TokenCounts | undefined {
  if (!body || typeof body !== "object") return undefined;
  const { meta, usage } = body as RerankAnswer;
  const searchUnits = meta?.billed_units?.search_units;
  const promptTokens =
    meta?.tokens?.input_tokens ?? meta?.billed_units?.input_tokens ?? usage?.prompt_tokens ?? usage?.total_tokens;
  if (searchUnits === undefined && promptTokens === undefined) return undefined;
  return {
    promptTokens: promptTokens ?? 0,
    completionTokens: 0,
    cachedTokens: 0,
    ...(searchUnits !== undefined && { toolCalls: { search_units: searchUnits } }),
  };
}

/** Rerank is only ever forwarded as sent: read for usage, never translated to. */
export const cohereRerankCodec: UpstreamCodec = {
  encode: () => {
    throw new Error("requests are not translated into rerank");
  },
  decode: () => {
    throw new Error("rerank answers are not translated");
  },
  usage: rerankUsageFrom,
  streamDecoder: () => ({
    complete: true,
    decode: () => [],
  }),
};
