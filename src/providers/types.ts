// What an upstream provider adapter is: where to send a request and how to read usage back.
import type { ProviderName, ProviderSettings } from "../config/index.ts";
import type { TokenCounts } from "../usage/prices.ts";

/** A chat request in OpenAI's wire format; unknown fields are kept and forwarded. */
export type OpenAIChatBody = Record<string, unknown> & { model: string; stream?: boolean };

export interface UpstreamCall {
  settings: ProviderSettings;
  upstreamModel: string;
  body: OpenAIChatBody;
  requestId: string;
  /** The client's own request headers, for adapters that pass some along. */
  clientHeaders: Headers;
}

export interface ProviderAdapter {
  readonly name: ProviderName;
  /** Builds the upstream fetch for a chat completion in OpenAI's dialect. */
  chatRequest(call: UpstreamCall): Request;
  /** Reads token counts from a usage object the provider returned. */
  usageFrom(usage: unknown): TokenCounts | undefined;
}
