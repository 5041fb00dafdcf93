// Cohere-format routes: `/v2/chat` (any provider) and `/v2/rerank`
// (providers that rerank), as Cohere's SDKs call them.
import { Hono } from "hono";
import { DESCRIBE } from "#describe";
import type { GatewayEnv } from "../context.ts";
import { cohereChat } from "../formats/cohere/index.ts";
import { cohereRerank } from "../formats/cohere/rerank.ts";
import { parseJsonBody } from "../http/validate.ts";
import { doc } from "../openapi/doc.ts";
import { proxy } from "../routing/proxy.ts";
import { endpoint } from "./endpoint.ts";

export const cohereRoutes = new Hono<GatewayEnv>();

const gated = endpoint({ errors: "cohere", gated: true });

cohereRoutes.post(
  "/v2/chat",
  gated,
  doc(
    DESCRIBE && {
      summary: "Cohere's chat, any provider",
      body: cohereChat.schema,
      response: {
        description: "A chat response, or its events (message-start … message-end) when `stream` is true",
        streams: true,
      },
    },
  ),
  async (c) => await proxy(c, cohereChat, await parseJsonBody(c, cohereChat.schema)),
);

cohereRoutes.post(
  "/v2/rerank",
  gated,
  doc(DESCRIBE && { summary: "Rerank, providers that speak Cohere's rerank API", body: cohereRerank.schema }),
  async (c) => await proxy(c, cohereRerank, await parseJsonBody(c, cohereRerank.schema)),
);
