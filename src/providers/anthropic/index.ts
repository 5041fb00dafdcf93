// Anthropic's Messages API.
import { anthropicCodec } from "../../formats/anthropic/upstream.ts";
import { bodyToSend } from "../../http/body-text.ts";
import { apiKeyEnv } from "../openai/compatible.ts";
import type { Endpoint, ProviderDescriptor } from "../types.ts";
import { ANTHROPIC_PRICES } from "./prices.ts";

const API_VERSION = "2023-06-01";

/** The fields `/messages/count_tokens` takes beside the model. */
const COUNTED = new Set(["messages", "system", "tools", "tool_choice", "thinking"]);

const messages: Endpoint = {
  dialect: "anthropic-messages",
  framing: "sse",
  codec: anthropicCodec,
  methods: new Set(["countTokens"]),
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
    // Counting takes what a message's input is made of, nothing of its output.
    if (call.method === "countTokens") {
      const input = Object.fromEntries(Object.entries(call.body).filter(([field]) => COUNTED.has(field)));
      const body = JSON.stringify({ ...input, model: call.upstreamModel });
      return new Request(`${call.settings.baseUrl}/messages/count_tokens`, { method: "POST", headers, body });
    }
    const body = { ...call.body, model: call.upstreamModel, ...(call.stream && { stream: true }) };
    return new Request(`${call.settings.baseUrl}/messages`, { method: "POST", headers, body: bodyToSend(body, call.source) });
  },
};

export const anthropicProvider: ProviderDescriptor<"anthropic"> = {
  kind: "anthropic",
  env: apiKeyEnv("ANTHROPIC"),
  defaultBaseUrl: "https://api.anthropic.com/v1",
  models: /^claude-/,
  prices: ANTHROPIC_PRICES,
  endpoints: () => [messages],
};
