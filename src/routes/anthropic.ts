// Anthropic-format routes: `/v1/messages` and `/v1/messages/count_tokens`.
import { Hono } from "hono";
import type { GatewayEnv } from "../context.ts";
import { anthropicCountTokensSchema, anthropicMessagesSchema, anthropicToCanonical } from "../formats/anthropic/request.ts";
import { AnthropicStreamEncoder, canonicalToAnthropic } from "../formats/anthropic/response.ts";
import { canonicalText } from "../formats/canonical.ts";
import { parseJsonBody } from "../http/validate.ts";
import { proxyNativeOrCanonical } from "../routing/native.ts";
import type { ClientEncoder } from "../routing/translated.ts";

const anthropicEncoder: ClientEncoder = {
  response: canonicalToAnthropic,
  stream: (model) => new AnthropicStreamEncoder(model),
};

export const anthropicRoutes = new Hono<GatewayEnv>();

anthropicRoutes.post("/v1/messages", async (c) => {
  const body = await parseJsonBody(c, anthropicMessagesSchema);
  return await proxyNativeOrCanonical(c, {
    dialect: "anthropic",
    body,
    canonical: anthropicToCanonical(body),
    encoder: anthropicEncoder,
  });
});

/**
 * An estimate (about four characters a token): no provider's tokenizer runs
 * at the edge. Agents use it to decide when to compact, which an estimate serves.
 */
anthropicRoutes.post("/v1/messages/count_tokens", async (c) => {
  const body = await parseJsonBody(c, anthropicCountTokensSchema);
  const request = anthropicToCanonical({ ...body, max_tokens: 1 });
  const tools = request.tools ? JSON.stringify(request.tools).length : 0;
  return c.json({ input_tokens: Math.ceil((canonicalText(request).length + tools) / 4) });
});
