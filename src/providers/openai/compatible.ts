// A factory for providers that speak OpenAI's API at a base URL: chat
// completions, legacy completions and embeddings, a bearer key, SSE streams.
// OpenAI itself, Mistral, the mock and any compatible server (Ollama, vLLM,
// Groq) are each a few lines on top.
import { openaiChatCodec, openaiCompletionsCodec, openaiEmbeddingsCodec } from "../../formats/openai/upstream.ts";
import type { Dialect, UpstreamCodec } from "../../formats/types.ts";
import type { Endpoint, EndpointCall, ProviderDescriptor, ProviderEnv } from "../types.ts";

export interface OpenAICompatibleOptions<Kind extends string> extends Omit<ProviderDescriptor<Kind>, "endpoints"> {
  /** Whether it takes `stream_options.include_usage` (else usage comes unasked, or not at all). */
  streamUsageOption?: boolean;
  /** Extra request headers taken from the client's request. */
  forwardHeaders?: (client: Headers) => Record<string, string>;
}

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
  const endpoint = (dialect: Dialect, path: string, codec: UpstreamCodec): Endpoint => ({
    dialect,
    framing: "sse",
    codec,
    async request(call: EndpointCall) {
      const body: Record<string, unknown> = { ...call.body, model: call.upstreamModel };
      // Usage comes with every stream, so it can be metered exactly; a client that did not ask for it does not see it.
      if (call.stream && streamUsageOption) {
        body.stream_options = { ...(body.stream_options as Record<string, unknown> | undefined), include_usage: true };
      }
      const headers: Record<string, string> = {
        "content-type": "application/json",
        accept: call.stream ? "text/event-stream" : "application/json",
        "x-request-id": call.requestId,
        ...options.forwardHeaders?.(call.clientHeaders),
      };
      if (call.settings.secret) headers.authorization = `Bearer ${call.settings.secret}`;
      return new Request(`${call.settings.baseUrl}/${path}`, { method: "POST", headers, body: JSON.stringify(body) });
    },
  });
  const endpoints = [
    endpoint("openai-chat", "chat/completions", openaiChatCodec),
    endpoint("openai-completions", "completions", openaiCompletionsCodec),
    endpoint("openai-embeddings", "embeddings", openaiEmbeddingsCodec),
  ];
  const { streamUsageOption: _usage, forwardHeaders: _headers, ...descriptor } = options;
  return { ...descriptor, endpoints: () => endpoints };
}
