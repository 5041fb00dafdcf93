// OpenAI-format routes.
import { Hono } from "hono";
import type { GatewayEnv } from "../context.ts";
import { openaiChatSchema, openaiCompletionSchema, openaiEmbeddingsSchema } from "../formats/openai/schema.ts";
import { parseJsonBody } from "../http/validate.ts";
import { proxyChatCompletion, proxyCompletion, proxyEmbeddings } from "../routing/chat.ts";
import { listModels } from "../routing/models.ts";

export const openaiRoutes = new Hono<GatewayEnv>();

openaiRoutes.post("/v1/chat/completions", async (c) => {
  const body = await parseJsonBody(c, openaiChatSchema);
  return await proxyChatCompletion(c, body);
});

/** The app API's OpenAI-compatible completion, sent to DEFAULT_PROVIDER unless the body names a provider. */
openaiRoutes.post("/api/ai/completion", async (c) => {
  const body = await parseJsonBody(c, openaiChatSchema);
  const provider = typeof body.provider === "string" ? body.provider : c.get("config").defaultProvider;
  return await proxyChatCompletion(c, { ...body, ...(provider && { provider }) });
});

openaiRoutes.post("/v1/completions", async (c) => {
  const body = await parseJsonBody(c, openaiCompletionSchema);
  return await proxyCompletion(c, body);
});

openaiRoutes.post("/v1/embeddings", async (c) => {
  const body = await parseJsonBody(c, openaiEmbeddingsSchema);
  return await proxyEmbeddings(c, body);
});

openaiRoutes.get("/v1/models", async (c) => {
  const created = 1_700_000_000;
  return c.json({
    object: "list",
    data: (await listModels(c)).map(({ id, provider }) => ({ id, object: "model", created, owned_by: provider })),
  });
});
