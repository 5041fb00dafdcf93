// A factory for providers that speak OpenAI's chat completions API.
import type { ProviderName } from "../../config/index.ts";
import type { ProviderAdapter, StreamDecoder, UpstreamCall } from "../types.ts";
import { canonicalToOpenAI, OpenAIStreamDecoder, openaiToCanonical } from "./translate.ts";
import { openaiUsageFrom } from "./usage.ts";

function openaiStreamDecoder(): StreamDecoder {
  const chunks = new OpenAIStreamDecoder();
  let complete = false;
  return {
    get complete() {
      return complete;
    },
    decode(data) {
      if (data === "[DONE]") {
        complete = true;
        return [];
      }
      const chunk = JSON.parse(data) as Parameters<OpenAIStreamDecoder["decode"]>[0] & { error?: { message?: string } };
      if (chunk.error) throw new Error(chunk.error.message ?? "the upstream reported an error");
      return chunks.decode(chunk);
    },
  };
}

export interface OpenAICompatibleOptions {
  name: ProviderName;
  /** Whether the server takes `stream_options.include_usage` (else usage comes unasked, or not at all). */
  streamUsageOption?: boolean;
  /** Extra request headers taken from the client's request. */
  forwardHeaders?: (client: Headers) => Record<string, string>;
}

export function openaiCompatible(options: OpenAICompatibleOptions): ProviderAdapter {
  const streamUsageOption = options.streamUsageOption ?? true;
  const adapter: ProviderAdapter = {
    name: options.name,
    dialect: "openai",
    usageFrom: openaiUsageFrom,
    canonicalRequest: (call) => adapter.chatRequest({ ...call, body: canonicalToOpenAI(call.request, call.upstreamModel) }),
    canonicalResponse: (body) => openaiToCanonical(body as Parameters<typeof openaiToCanonical>[0]),
    streamDecoder: openaiStreamDecoder,
    chatRequest(call: UpstreamCall): Request {
      const body: Record<string, unknown> = { ...call.body, model: call.upstreamModel };
      if (body.stream === true && streamUsageOption) {
        const streamOptions = (body.stream_options ?? {}) as Record<string, unknown>;
        body.stream_options = { ...streamOptions, include_usage: true };
      }
      const headers: Record<string, string> = {
        "content-type": "application/json",
        accept: body.stream === true ? "text/event-stream" : "application/json",
        "x-request-id": call.requestId,
        ...options.forwardHeaders?.(call.clientHeaders),
      };
      if (call.settings.apiKey) headers.authorization = `Bearer ${call.settings.apiKey}`;
      return new Request(`${call.settings.baseUrl}/${call.endpoint ?? "chat/completions"}`, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
      });
    },
  };
  return adapter;
}
