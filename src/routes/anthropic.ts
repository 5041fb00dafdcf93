// Anthropic-format routes: `/v1/messages` and `/v1/messages/count_tokens`.
import { Hono } from "hono";
import { DESCRIBE } from "#describe";
import type { GatewayEnv } from "../context.ts";
import { anthropic } from "../formats/anthropic/index.ts";
import { anthropicCountTokensSchema, anthropicToCanonical } from "../formats/anthropic/request.ts";
import { canonicalText } from "../formats/canonical.ts";
import { parseJsonBody } from "../http/validate.ts";
import { doc } from "../openapi/doc.ts";
import { proxy } from "../routing/proxy.ts";
import { endpoint } from "./endpoint.ts";

export const anthropicRoutes = new Hono<GatewayEnv>();

anthropicRoutes.post(
  "/v1/messages",
  endpoint({ errors: "anthropic", gated: true }),
  doc(
    DESCRIBE && {
      summary: "Messages, any provider",
      body: anthropic.schema,
      response: { description: "A message, or its events (message_start … message_stop) when `stream` is true", streams: true },
    },
  ),
  async (c) => await proxy(c, anthropic, await parseJsonBody(c, anthropic.schema)),
);

/**
 * An estimate (about four characters a token): no provider's tokenizer runs
 * at the edge. Agents use it to decide when to compact, which an estimate serves.
 */
anthropicRoutes.post(
  "/v1/messages/count_tokens",
  endpoint({ errors: "anthropic", gated: false }),
  doc(DESCRIBE && { summary: "An estimate of a request's input tokens", body: anthropicCountTokensSchema }),
  async (c) => {
    const body = await parseJsonBody(c, anthropicCountTokensSchema);
    const request = anthropicToCanonical({ ...body, max_tokens: 1 });
    const tools = request.tools ? JSON.stringify(request.tools).length : 0;
    return c.json({ input_tokens: Math.ceil((canonicalText(request).length + tools) / 4) });
  },
);
