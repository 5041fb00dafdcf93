// OpenAI-format routes.
import { Hono } from "hono";
import { DESCRIBE } from "#describe";
import type { GatewayEnv } from "../context.ts";
import { openaiChat, openaiChatQuick } from "../formats/openai/chat.ts";
import { openaiCompletions } from "../formats/openai/completions.ts";
import { openaiEmbeddings } from "../formats/openai/embeddings.ts";
import { openaiResponses } from "../formats/openai/responses.ts";
import { parseJsonBody } from "../http/validate.ts";
import { doc } from "../openapi/doc.ts";
import { listModels } from "../routing/models.ts";
import { proxy } from "../routing/proxy.ts";
import { endpoint } from "./endpoint.ts";

export const openaiRoutes = new Hono<GatewayEnv>();

const gated = endpoint({ errors: "openai", gated: true });

const streams = (description: string) => ({ description, streams: true });

openaiRoutes.post(
  "/v1/chat/completions",
  gated,
  doc(
    DESCRIBE && {
      summary: "Chat completions, any provider",
      body: openaiChat.schema,
      response: streams("A chat.completion, or chat.completion.chunk events when `stream` is true"),
    },
  ),
  async (c) => await proxy(c, openaiChat, await parseJsonBody(c, openaiChat.schema, openaiChatQuick)),
);

openaiRoutes.post(
  "/v1/responses",
  endpoint({ errors: "openai-responses", gated: true }),
  doc(
    DESCRIBE && {
      summary: "The Responses API, any provider",
      body: openaiResponses.schema,
      response: streams("A response, or its named events (response.created … response.completed) when `stream` is true"),
    },
  ),
  async (c) => await proxy(c, openaiResponses, await parseJsonBody(c, openaiResponses.schema)),
);

/** The app API's OpenAI-compatible completion, sent to DEFAULT_PROVIDER unless the body names a provider. */
openaiRoutes.post(
  "/api/ai/completion",
  gated,
  doc(
    DESCRIBE && {
      summary: "OpenAI chat format, sent to DEFAULT_PROVIDER unless the body names a provider",
      body: openaiChat.schema,
      response: streams("As /v1/chat/completions"),
    },
  ),
  async (c) => {
    const body = await parseJsonBody(c, openaiChat.schema, openaiChatQuick);
    return await proxy(c, openaiChat, { ...body, provider: body.provider ?? c.get("config").defaultProvider });
  },
);

openaiRoutes.post(
  "/v1/completions",
  gated,
  doc(
    DESCRIBE && {
      summary: "Legacy completions",
      body: openaiCompletions.schema,
      response: streams("A text_completion, or its chunks"),
    },
  ),
  async (c) => await proxy(c, openaiCompletions, await parseJsonBody(c, openaiCompletions.schema)),
);

openaiRoutes.post(
  "/v1/embeddings",
  gated,
  doc(DESCRIBE && { summary: "Embeddings, OpenAI-compatible providers", body: openaiEmbeddings.schema }),
  async (c) => await proxy(c, openaiEmbeddings, await parseJsonBody(c, openaiEmbeddings.schema)),
);

openaiRoutes.get(
  "/v1/models",
  endpoint({ errors: "openai", gated: false }),
  doc(DESCRIBE && { summary: "Models this configuration can serve" }),
  async (c) => {
    const created = 1_700_000_000;
    return c.json({
      object: "list",
      data: (await listModels(c)).map(({ id, provider }) => ({ id, object: "model", created, owned_by: provider })),
    });
  },
);
