// A factory for providers that speak OpenAI's chat completions API.
import type { ProviderName } from "../../config/index.ts";
import type { ProviderAdapter, UpstreamCall } from "../types.ts";
import { openaiUsageFrom } from "./usage.ts";

export interface OpenAICompatibleOptions {
  name: ProviderName;
  /** Whether the server takes `stream_options.include_usage` (else usage comes unasked, or not at all). */
  streamUsageOption?: boolean;
  /** Extra request headers taken from the client's request. */
  forwardHeaders?: (client: Headers) => Record<string, string>;
}

export function openaiCompatible(options: OpenAICompatibleOptions): ProviderAdapter {
  const streamUsageOption = options.streamUsageOption ?? true;
  return {
    name: options.name,
    usageFrom: openaiUsageFrom,
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
      return new Request(`${call.settings.baseUrl}/chat/completions`, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
      });
    },
  };
}
