// Anthropic's Messages API.
import { anthropicCodec } from "../../formats/anthropic/upstream.ts";
import { apiKeyEnv } from "../openai/compatible.ts";
import type { Endpoint, ProviderDescriptor } from "../types.ts";

const API_VERSION = "2023-06-01";

const messages: Endpoint = {
  dialect: "anthropic-messages",
  framing: "sse",
  codec: anthropicCodec,
  async request(call) {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      // A client's own API version and beta flags go along (agents depend on them); the rest of its headers do not.
      "anthropic-version": call.clientHeaders.get("anthropic-version") ?? call.settings.apiVersion ?? API_VERSION,
      "x-request-id": call.requestId,
    };
    const beta = call.clientHeaders.get("anthropic-beta");
    if (beta) headers["anthropic-beta"] = beta;
    if (call.settings.secret) headers["x-api-key"] = call.settings.secret;
    const body = { ...call.body, model: call.upstreamModel, ...(call.stream && { stream: true }) };
    return new Request(`${call.settings.baseUrl}/messages`, { method: "POST", headers, body: JSON.stringify(body) });
  },
};

export const anthropicProvider: ProviderDescriptor<"anthropic"> = {
  kind: "anthropic",
  env: apiKeyEnv("ANTHROPIC"),
  defaultBaseUrl: "https://api.anthropic.com/v1",
  models: /^claude-/,
  prices: {
    "claude-3-5-haiku": { input: 0.8, output: 4, cachedInput: 0.08 },
    "claude-haiku-4-5": { input: 1, output: 5, cachedInput: 0.1 },
    "claude-sonnet-4": { input: 3, output: 15, cachedInput: 0.3 },
    "claude-opus-4": { input: 15, output: 75, cachedInput: 1.5 },
  },
  endpoints: () => [messages],
};
