// Google's Gemini API: `models/{model}:generateContent` and
// `:streamGenerateContent?alt=sse`, on v1beta, or v1alpha for models that need it.
// A user's account may instead reach Code Assist, the Gemini CLI's API: the
// same requests and answers, wrapped (`{model, project, request}` up,
// `{response}` back) and sent to `v1internal:generateContent`.
import { geminiCodec } from "../../formats/gemini/upstream.ts";
import { apiKeyEnv } from "../openai/compatible.ts";
import type { Endpoint, EndpointMethod, ProviderDescriptor } from "../types.ts";
import { GEMINI_PRICES } from "./prices.ts";

/** Models only served on the alpha API. */
const ALPHA_MODELS = /(^|\/)gemini-[\w.-]*(thinking|native-audio|live)/;

/** Google's methods beside generation, on the same model path (Vertex AI serves them too); `predict` is Imagen's. */
export const GEMINI_METHODS: ReadonlySet<EndpointMethod> = new Set([
  "countTokens",
  "embedContent",
  "batchEmbedContents",
  "predict",
]);

/** The path of a Gemini model's method: `models/{model}:generateContent`, streamed over SSE, or another method. */
export const geminiMethod = (model: string, stream: boolean, method?: EndpointMethod) =>
  `models/${encodeURIComponent(model)}:${method ?? (stream ? "streamGenerateContent?alt=sse" : "generateContent")}`;

const generate: Endpoint = {
  dialect: "gemini-generate",
  framing: "sse",
  codec: geminiCodec,
  methods: GEMINI_METHODS,
  async request(call) {
    const headers: Record<string, string> = { "content-type": "application/json", "x-request-id": call.requestId };
    if (call.settings.secret && call.settings.bearer) headers.authorization = `Bearer ${call.settings.secret}`;
    else if (call.settings.secret) headers["x-goog-api-key"] = call.settings.secret;
    const codeAssist = call.settings.codeAssist;
    if (codeAssist) {
      const method = call.stream ? "streamGenerateContent?alt=sse" : "generateContent";
      const body = { model: call.upstreamModel, project: codeAssist.project, user_prompt_id: call.requestId, request: call.body };
      return new Request(`${call.settings.baseUrl}/v1internal:${method}`, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
      });
    }
    const version = call.settings.apiVersion ?? (ALPHA_MODELS.test(call.upstreamModel) ? "v1alpha" : "v1beta");
    return new Request(`${call.settings.baseUrl}/${version}/${geminiMethod(call.upstreamModel, call.stream, call.method)}`, {
      method: "POST",
      headers,
      body: JSON.stringify(call.body),
    });
  },
  unwrap: (settings) => (settings.codeAssist ? codeAssistAnswer : undefined),
};

/** Code Assist's `{response, traceId}`: the GenerateContentResponse inside, its id the trace's. */
function codeAssistAnswer(answer: unknown): unknown {
  const wrapped = answer as { response?: Record<string, unknown>; traceId?: string } | null;
  if (!wrapped?.response) return answer;
  return { ...wrapped.response, ...(wrapped.traceId && !wrapped.response.responseId && { responseId: wrapped.traceId }) };
}

export const geminiProvider: ProviderDescriptor<"gemini"> = {
  kind: "gemini",
  env: apiKeyEnv("GEMINI"),
  defaultBaseUrl: "https://generativelanguage.googleapis.com",
  models: /^(?:gemini-|imagen-)/,
  prices: GEMINI_PRICES,
  endpoints: () => [generate],
};
