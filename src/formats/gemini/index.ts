// Gemini's generateContent as a client format. The model and whether to
// stream come from the path (`models/{model}:streamGenerateContent`), or, for
// the app API's `/api/ai/generate`, from the body's own `model` and `stream`.
import { badRequest } from "../../http/errors.ts";
import type { ClientFormat, RequestFacts } from "../types.ts";
import { type GeminiGenerateBody, geminiGenerateSchema, geminiToCanonical } from "./request.ts";
import { canonicalToGemini, GeminiStreamEncoder } from "./response.ts";

const toCanonical = (body: GeminiGenerateBody, facts: RequestFacts) => geminiToCanonical(body, facts.model, facts.stream);

export const gemini: ClientFormat<GeminiGenerateBody> = {
  name: "gemini",
  dialect: "gemini-generate",
  errors: "gemini",
  schema: geminiGenerateSchema,
  facts(body, route) {
    const model = route.model ?? body.model;
    if (!model) throw badRequest("Invalid `model`: is required", "model");
    return { model, stream: route.stream ?? body.stream === true, provider: body.provider };
  },
  forwarded: ({ model: _model, provider: _provider, stream: _stream, ...body }) => body,
  prompt: (body) => [body.systemInstruction ?? "", body.contents, body.tools ?? ""],
  output: {
    of: (body) => body.generationConfig?.maxOutputTokens ?? undefined,
    choices: (body) => body.generationConfig?.candidateCount ?? 1,
    set: (forwarded, cap) => ({
      ...forwarded,
      generationConfig: { ...(forwarded.generationConfig as Record<string, unknown> | undefined), maxOutputTokens: cap },
    }),
  },
  toCanonical,
  translated: new Set([
    "contents",
    "systemInstruction",
    "tools",
    "toolConfig",
    "generationConfig",
    "model",
    "stream",
    "provider",
  ]),
  encoder: () => ({ response: canonicalToGemini, stream: (model) => new GeminiStreamEncoder(model) }),
};
