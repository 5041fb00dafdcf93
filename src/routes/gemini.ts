// Gemini-format routes: `models/{model}:generateContent`,
// `:streamGenerateContent?alt=sse`, `:embedContent`, `:batchEmbedContents`
// and `:countTokens` (media/gemini-methods.ts), the model list, and the app API's
// `POST /api/ai/generate` (Gemini-style, model in the body).
import { Hono } from "hono";
import { DESCRIBE } from "#describe";
import type { GatewayContext, GatewayEnv } from "../context.ts";
import { checkedName, modelName } from "../formats/fields.ts";
import { gemini } from "../formats/gemini/index.ts";
import { geminiBatchEmbedSchema, geminiCountTokensSchema, geminiEmbedSchema } from "../formats/gemini/methods.ts";
import { badRequest, GatewayError } from "../http/errors.ts";
import { parseJsonBody } from "../http/validate.ts";
import { geminiMethodProxy } from "../media/gemini-methods.ts";
import { doc } from "../openapi/doc.ts";
import { listModels } from "../routing/models.ts";
import { proxy } from "../routing/proxy.ts";
import { endpoint } from "./endpoint.ts";

/** `models/gemini-2.5-flash:streamGenerateContent` → model and method. */
const MODEL_METHOD =
  /^\/v1(?:beta|alpha)?\/models\/([^/:]+):(generateContent|streamGenerateContent|embedContent|batchEmbedContents|countTokens)$/;

async function generate(c: GatewayContext): Promise<Response> {
  const match = MODEL_METHOD.exec(c.req.path);
  if (!match) throw new GatewayError(404, "not_found", `No route for ${c.req.method} ${c.req.path}.`);
  const method = match[2];
  const stream = method === "streamGenerateContent";
  if (stream && c.req.query("alt") !== "sse") {
    throw new GatewayError(400, "invalid_request", "streamGenerateContent is served as server-sent events: add `alt=sse`.", {
      param: "alt",
    });
  }
  let name: string;
  try {
    name = decodeURIComponent(match[1] ?? "");
  } catch {
    throw badRequest("Invalid `model`: the path's model name is not valid percent-encoding", "model");
  }
  const model = checkedName(modelName, name, "model");
  if (method === "embedContent") {
    return await geminiMethodProxy(c, { method, model, body: await parseJsonBody(c, geminiEmbedSchema) });
  }
  if (method === "batchEmbedContents") {
    return await geminiMethodProxy(c, { method, model, body: await parseJsonBody(c, geminiBatchEmbedSchema) });
  }
  if (method === "countTokens") {
    return await geminiMethodProxy(c, { method, model, body: await parseJsonBody(c, geminiCountTokensSchema) });
  }
  const body = await parseJsonBody(c, gemini.schema);
  return await proxy(c, gemini, body, { model, stream });
}

export const geminiRoutes = new Hono<GatewayEnv>();

// Google's REST clients send the key as `?key=`; these routes take it there, as Google's own do.
const gated = endpoint({ errors: "gemini", gated: true, pathParam: "model", queryCredential: true });
for (const version of ["v1beta", "v1alpha", "v1"]) {
  geminiRoutes.post(
    `/${version}/models/*`,
    gated,
    doc(
      DESCRIBE && {
        summary:
          "generateContent or streamGenerateContent (`?alt=sse`), any provider; embedContent, batchEmbedContents and countTokens where the provider has them",
        path: `/${version}/models/{model}:{method}`,
        body: gemini.schema,
        response: { description: "A GenerateContentResponse, or one per event when streamed", streams: true },
      },
    ),
    generate,
  );
}

geminiRoutes.get(
  "/v1beta/models",
  endpoint({ errors: "gemini", gated: false, queryCredential: true }),
  doc(DESCRIBE && { summary: "The model list, as Gemini lists models" }),
  async (c) =>
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

/** For browser apps: Gemini-style `contents` for any model, named in the body with the provider and `stream`. */
geminiRoutes.post(
  "/api/ai/generate",
  endpoint({ errors: "gemini", gated: true }),
  doc(
    DESCRIBE && {
      summary: "For browser apps: Gemini-style contents for any model, named in the body",
      body: gemini.schema,
      response: { description: "As generateContent", streams: true },
    },
  ),
  async (c) => await proxy(c, gemini, await parseJsonBody(c, gemini.schema)),
);
