// Google's Gemini API: `models/{model}:generateContent` and
// `:streamGenerateContent?alt=sse`, on v1beta, or v1alpha for models that need it.
import { geminiCodec } from "../../formats/gemini/upstream.ts";
import { apiKeyEnv } from "../openai/compatible.ts";
import type { Endpoint, ProviderDescriptor } from "../types.ts";

/** Models only served on the alpha API. */
const ALPHA_MODELS = /(^|\/)gemini-[\w.-]*(thinking|native-audio|live)/;

/** The path of a Gemini model's method: `models/{model}:generateContent`, or streamed over SSE. */
export const geminiMethod = (model: string, stream: boolean) =>
  `models/${encodeURIComponent(model)}:${stream ? "streamGenerateContent?alt=sse" : "generateContent"}`;

const generate: Endpoint = {
  dialect: "gemini-generate",
  framing: "sse",
  codec: geminiCodec,
  async request(call) {
    const version = call.settings.apiVersion ?? (ALPHA_MODELS.test(call.upstreamModel) ? "v1alpha" : "v1beta");
    const headers: Record<string, string> = { "content-type": "application/json", "x-request-id": call.requestId };
    if (call.settings.secret && call.settings.bearer) headers.authorization = `Bearer ${call.settings.secret}`;
    else if (call.settings.secret) headers["x-goog-api-key"] = call.settings.secret;
    return new Request(`${call.settings.baseUrl}/${version}/${geminiMethod(call.upstreamModel, call.stream)}`, {
      method: "POST",
      headers,
      body: JSON.stringify(call.body),
    });
  },
};

export const geminiProvider: ProviderDescriptor<"gemini"> = {
  kind: "gemini",
  env: apiKeyEnv("GEMINI"),
  defaultBaseUrl: "https://generativelanguage.googleapis.com",
  models: /^gemini-/,
  prices: {
    "gemini-2.0-flash": { input: 0.1, output: 0.4, cachedInput: 0.025 },
    "gemini-2.5-flash-lite": { input: 0.1, output: 0.4, cachedInput: 0.025 },
    "gemini-2.5-flash": { input: 0.3, output: 2.5, cachedInput: 0.075 },
    "gemini-2.5-pro": { input: 1.25, output: 10, cachedInput: 0.31 },
  },
  endpoints: () => [generate],
};
