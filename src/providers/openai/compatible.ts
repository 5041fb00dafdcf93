// A factory for providers that speak OpenAI's API at a base URL: chat
// completions, legacy completions and embeddings (and the Responses API where
// the server has it), a bearer key, SSE streams.
// OpenAI itself, Mistral, the mock and any compatible server (Ollama, vLLM,
// Groq) are each a few lines on top.
import { cohereRerankCodec } from "../../formats/cohere/rerank.ts";
import { openaiResponsesCodec } from "../../formats/openai/responses-upstream.ts";
import { openaiChatCodec, openaiCompletionsCodec, openaiEmbeddingsCodec } from "../../formats/openai/upstream.ts";
import type { Dialect, UpstreamCodec } from "../../formats/types.ts";
import { bodyToSend } from "../../http/body-text.ts";
import type { Endpoint, EndpointCall, MediaApi, MediaCall, ProviderDescriptor, ProviderEnv } from "../types.ts";

export interface OpenAICompatibleOptions<Kind extends string> extends Omit<ProviderDescriptor<Kind>, "endpoints" | "media"> {
  /** Whether it takes `stream_options.include_usage` (else usage comes unasked, or not at all). */
  streamUsageOption?: boolean;
  /** Extra request headers taken from the client's request. */
  forwardHeaders?: (client: Headers) => Record<string, string>;
  /** Whether it serves the Responses API (`/responses`), so Responses clients are forwarded as sent. */
  responses?: boolean;
  /** Whether it takes `reasoning_effort` on chat completions (else a translated request's effort is left out). */
  reasoningEffort?: boolean;
  /** Whether it reranks at `/rerank` in Cohere's shape (vLLM, LiteLLM, Infinity), so `/v2/rerank` is forwarded to it. */
  rerank?: boolean;
  /** The media APIs it serves (`/audio/*`, `/images/*`, `/moderations`). */
  media?: readonly MediaApi[];
  /**
   * Where an operation (`chat/completions`, `responses`…) goes and the headers
   * that authenticate it, for a server laid out unlike OpenAI's (Azure). By
   * default: the base URL and the operation, with the key as a bearer token.
   */
  address?(call: EndpointCall, operation: string): Promise<{ url: string; headers: Record<string, string> }>;
}

async function openaiAddress(call: EndpointCall, operation: string) {
  const headers: Record<string, string> = call.settings.secret ? { authorization: `Bearer ${call.settings.secret}` } : {};
  return { url: `${call.settings.baseUrl}/${operation}`, headers };
}

/** Every media API, for servers that speak all of OpenAI's. */
export const ALL_MEDIA: readonly MediaApi[] = [
  "audio/transcriptions",
  "audio/translations",
  "audio/speech",
  "images/generations",
  "images/edits",
  "moderations",
];

/** The usual pair of variables: `<NAME>_API_KEY` and `<NAME>_BASE_URL`. */
export function apiKeyEnv(prefix: string): ProviderEnv {
  const key = `${prefix}_API_KEY`;
  const url = `${prefix}_BASE_URL`;
  return {
    vars: [{ name: key }, { name: url, url: true }],
    secret: (vars) => vars[key],
    baseUrl: (vars) => vars[url],
  };
}

export function openaiCompatible<Kind extends string>(options: OpenAICompatibleOptions<Kind>): ProviderDescriptor<Kind> {
  const streamUsageOption = options.streamUsageOption ?? true;
  const reasoningEffort = options.reasoningEffort ?? true;
  const address = options.address ?? openaiAddress;
  const endpoint = (dialect: Dialect, path: string, codec: UpstreamCodec): Endpoint => ({
    dialect,
    framing: "sse",
    codec,
    async request(call: EndpointCall) {
      const body: Record<string, unknown> = { ...call.body, model: call.upstreamModel };
      // Usage comes with every stream, so it can be metered exactly; a client that did not ask for it does not see it.
      // (The Responses API always ends a stream with it, and refuses the option.)
      if (call.stream && streamUsageOption && dialect !== "openai-responses") {
        body.stream_options = { ...(body.stream_options as Record<string, unknown> | undefined), include_usage: true };
      }
      const target = await address(call, path);
      const headers: Record<string, string> = {
        "content-type": "application/json",
        accept: call.stream ? "text/event-stream" : "application/json",
        "x-request-id": call.requestId,
        ...options.forwardHeaders?.(call.clientHeaders),
        ...target.headers,
      };
      return new Request(target.url, { method: "POST", headers, body: bodyToSend(body, call.source) });
    },
  });
  const chatCodec: UpstreamCodec = reasoningEffort
    ? openaiChatCodec
    : { ...openaiChatCodec, encode: (request) => openaiChatCodec.encode({ ...request, reasoningEffort: undefined }) };
  const endpoints = [
    endpoint("openai-chat", "chat/completions", chatCodec),
    ...(options.responses ? [endpoint("openai-responses", "responses", openaiResponsesCodec)] : []),
    endpoint("openai-completions", "completions", openaiCompletionsCodec),
    endpoint("openai-embeddings", "embeddings", openaiEmbeddingsCodec),
    ...(options.rerank ? [endpoint("cohere-rerank", "rerank", cohereRerankCodec)] : []),
  ];
  const mediaRequest = (call: MediaCall) => {
    const headers: Record<string, string> = { "x-request-id": call.requestId, ...options.forwardHeaders?.(call.clientHeaders) };
    if (call.settings.secret) headers.authorization = `Bearer ${call.settings.secret}`;
    // An upload goes up as multipart (its boundary set by the runtime); anything else as JSON.
    const multipart = call.body instanceof FormData;
    if (!multipart) headers["content-type"] = "application/json";
    const body = multipart ? (call.body as FormData) : JSON.stringify(call.body);
    return new Request(`${call.settings.baseUrl}/${call.api}`, { method: "POST", headers, body });
  };
  const media = options.media?.length ? { apis: new Set(options.media), request: mediaRequest } : undefined;
  const {
    media: _media,
    streamUsageOption: _usage,
    forwardHeaders: _headers,
    responses: _responses,
    reasoningEffort: _effort,
    address: _address,
    rerank: _rerank,
    ...descriptor
  } = options;
  return { ...descriptor, ...(media && { media }), endpoints: () => endpoints };
}
