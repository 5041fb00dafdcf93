// Cohere's v2 API: chat (`/v2/chat`, SSE streams of named events), rerank
// (`/v2/rerank`) and embeddings (`/v2/embed`, reached from OpenAI's
// embeddings API), with the key as a bearer token. The base URL carries the
// version (`https://api.cohere.com/v2`), so a compatible server is a base URL.

import { cohereRerankCodec } from "../../formats/cohere/rerank.ts";
import { cohereChatCodec } from "../../formats/cohere/upstream.ts";
import type { Dialect, UpstreamCodec } from "../../formats/types.ts";
import type { ToolFees } from "../../usage/prices.ts";
import { apiKeyEnv } from "../openai/compatible.ts";
import type { Endpoint, EndpointCall, ProviderDescriptor } from "../types.ts";
import { cohereEmbedAnswer, cohereEmbedBody, cohereEmbedCodec } from "./embed.ts";
import { COHERE_PRICES, RERANK_SEARCH_FEE } from "./prices.ts";

function cohereRequest(call: EndpointCall, operation: string, body: Record<string, unknown>): Request {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: call.stream ? "text/event-stream" : "application/json",
    "x-request-id": call.requestId,
  };
  if (call.settings.secret) headers.authorization = `Bearer ${call.settings.secret}`;
  return new Request(`${call.settings.baseUrl}/${operation}`, { method: "POST", headers, body: JSON.stringify(body) });
}

const endpoint = (dialect: Dialect, operation: string, codec: UpstreamCodec): Endpoint => ({
  dialect,
  framing: "sse",
  codec,
  request: async (call) =>
    cohereRequest(call, operation, { ...call.body, model: call.upstreamModel, ...(call.stream && { stream: true }) }),
});

const chat = endpoint("cohere-chat", "chat", cohereChatCodec);
const rerank = endpoint("cohere-rerank", "rerank", cohereRerankCodec);
const embed: Endpoint = {
  dialect: "openai-embeddings",
  framing: "sse",
  codec: cohereEmbedCodec,
  request: async (call) => cohereRequest(call, "embed", cohereEmbedBody(call)),
  unwrap: (_settings, call) => (call ? cohereEmbedAnswer(call) : undefined),
};

const NO_FEES: ToolFees = {};
const RERANK_FEES: ToolFees = { search_units: RERANK_SEARCH_FEE };

export const cohereProvider: ProviderDescriptor<"cohere"> = {
  kind: "cohere",
  env: apiKeyEnv("COHERE"),
  defaultBaseUrl: "https://api.cohere.com/v2",
  models: /^(?:command-|c4ai-aya-|embed-(?:english|multilingual|v\d)|rerank-)/,
  prices: COHERE_PRICES,
  toolFees: (model) => (model.startsWith("rerank-") ? RERANK_FEES : NO_FEES),
  endpoints: () => [chat, rerank, embed],
};
