// What an upstream provider adapter is: where to send a request and how to read usage back.
import type { ProviderName, ProviderSettings } from "../config/index.ts";
import type { CanonicalEvent, CanonicalRequest, CanonicalResponse } from "../formats/canonical.ts";
import type { TokenCounts } from "../usage/prices.ts";

/** A chat request in OpenAI's wire format; unknown fields are kept and forwarded. */
export type OpenAIChatBody = Record<string, unknown> & { model: string; stream?: boolean };

/** The OpenAI endpoints a body can be forwarded to. */
export type OpenAIEndpoint = "chat/completions" | "completions" | "embeddings";

export interface UpstreamCall {
  /** Chat completions unless said otherwise. */
  endpoint?: OpenAIEndpoint;
  settings: ProviderSettings;
  upstreamModel: string;
  body: OpenAIChatBody;
  requestId: string;
  /** The client's own request headers, for adapters that pass some along. */
  clientHeaders: Headers;
}

export interface CanonicalCall {
  settings: ProviderSettings;
  upstreamModel: string;
  request: CanonicalRequest;
  requestId: string;
  clientHeaders: Headers;
}

/** Reads a provider's stream, one SSE `data` payload at a time. */
export interface StreamDecoder {
  /** Canonical events for one payload; throws when the provider reports an error mid-stream. */
  decode(data: string): CanonicalEvent[];
  /** Whether the provider has said the stream is whole. */
  readonly complete: boolean;
}

/** A request in the provider's own format, forwarded as sent but for the model and credentials. */
export interface NativeCall {
  settings: ProviderSettings;
  upstreamModel: string;
  body: Record<string, unknown>;
  stream: boolean;
  requestId: string;
  clientHeaders: Headers;
}

export interface ProviderAdapter {
  readonly name: ProviderName;
  /** The wire format it speaks; a client speaking the same one is forwarded as is. */
  readonly dialect: "openai" | "anthropic" | "gemini";
  /** Builds the upstream fetch for an OpenAI-format body, forwarded as sent (OpenAI dialect only). */
  chatRequest(call: UpstreamCall): Request;
  /** Reads token counts from a usage object the provider returned. */
  usageFrom(usage: unknown): TokenCounts | undefined;
  /** Builds the upstream fetch for a canonical request. */
  canonicalRequest(call: CanonicalCall): Request;
  canonicalResponse(body: unknown): CanonicalResponse;
  streamDecoder(): StreamDecoder;
  /** Builds the upstream fetch for a body already in this provider's format (Anthropic and Gemini). */
  nativeRequest?(call: NativeCall): Request;
}
