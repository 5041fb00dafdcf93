// Gemini-format routes: `models/{model}:generateContent`,
// `:streamGenerateContent?alt=sse`, the model list, and the app API's
// `POST /api/ai/generate` (Gemini-style, model in the body).
import { Hono } from "hono";
import * as z from "zod";
import type { GatewayContext, GatewayEnv } from "../context.ts";
import { geminiGenerateSchema, geminiToCanonical } from "../formats/gemini/request.ts";
import { canonicalToGemini, GeminiStreamEncoder } from "../formats/gemini/response.ts";
import { GatewayError } from "../http/errors.ts";
import { parseJsonBody } from "../http/validate.ts";
import { listModels } from "../routing/models.ts";
import { proxyNativeOrCanonical } from "../routing/native.ts";
import type { ClientEncoder } from "../routing/translated.ts";

const geminiEncoder: ClientEncoder = {
  response: canonicalToGemini,
  stream: (model) => new GeminiStreamEncoder(model),
};

/** `models/gemini-2.5-flash:streamGenerateContent` → model and method. */
const MODEL_METHOD = /^\/v1(?:beta|alpha)?\/models\/([^/:]+):(generateContent|streamGenerateContent)$/;

export const isGeminiGenerate = (path: string) => MODEL_METHOD.test(path);

async function generate(c: GatewayContext): Promise<Response> {
  const [, model = "", method] = MODEL_METHOD.exec(c.req.path) ?? [];
  const stream = method === "streamGenerateContent";
  if (stream && c.req.query("alt") !== "sse") {
    throw new GatewayError(400, "invalid_request", "streamGenerateContent is served as server-sent events: add `alt=sse`.", {
      param: "alt",
    });
  }
  const body = await parseJsonBody(c, geminiGenerateSchema);
  const canonical = geminiToCanonical(body, decodeURIComponent(model), stream);
  return await proxyNativeOrCanonical(c, { dialect: "gemini", body, canonical, encoder: geminiEncoder });
}

export const geminiRoutes = new Hono<GatewayEnv>();

geminiRoutes.post("/v1beta/models/*", generate);
geminiRoutes.post("/v1alpha/models/*", generate);
geminiRoutes.post("/v1/models/*", generate);

geminiRoutes.get("/v1beta/models", async (c) =>
  c.json({
    models: (await listModels(c)).map(({ id, contextWindow }) => ({
      name: `models/${id}`,
      baseModelId: id,
      displayName: id,
      ...(contextWindow !== null && { inputTokenLimit: contextWindow }),
      supportedGenerationMethods: ["generateContent", "streamGenerateContent", "countTokens"],
    })),
  }),
);

const appGenerateSchema = geminiGenerateSchema.extend({
  model: z.string({ message: "is required" }).min(1, { message: "is required" }),
  provider: z.string().optional(),
  stream: z.boolean().optional(),
});

/** For browser apps: Gemini-style `contents` for any model, the provider optional. */
geminiRoutes.post("/api/ai/generate", async (c) => {
  const { model, provider, stream, ...body } = await parseJsonBody(c, appGenerateSchema);
  const canonical = geminiToCanonical(body, model, stream === true);
  return await proxyNativeOrCanonical(c, {
    dialect: "gemini",
    body,
    canonical,
    encoder: geminiEncoder,
    providerOverride: provider,
  });
});
