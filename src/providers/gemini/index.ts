// Google's Gemini API: `models/{model}:generateContent` and
// `:streamGenerateContent?alt=sse`, on v1beta, or v1alpha for models that need it.
import { geminiCodec } from "../../formats/gemini/upstream.ts";
import { apiKeyEnv } from "../openai/compatible.ts";
import type { Endpoint, ProviderDescriptor } from "../types.ts";
import { GEMINI_PRICES } from "./prices.ts";

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
  prices: GEMINI_PRICES,
  endpoints: () => [generate],
};
