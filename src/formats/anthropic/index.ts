// Anthropic's Messages API as a client format: forwarded as sent to
// Anthropic-dialect providers (unknown fields and beta flags kept), decoded to
// the canonical form for the others.
import { withoutProvider } from "../fields.ts";
import type { ClientFormat } from "../types.ts";
import { type AnthropicMessagesBody, anthropicMessagesSchema, anthropicToCanonical } from "./request.ts";
import { AnthropicStreamEncoder, canonicalToAnthropic } from "./response.ts";

export const anthropic: ClientFormat<AnthropicMessagesBody> = {
  name: "anthropic",
  dialect: "anthropic-messages",
  errors: "anthropic",
  schema: anthropicMessagesSchema,
  facts: (body) => ({ model: body.model, stream: body.stream === true, provider: body.provider }),
  forwarded: withoutProvider,
  prompt: (body) => [body.system ?? "", body.messages, body.tools ?? ""],
  // `max_tokens` is required: the upstream is always held to it.
  output: { of: (body) => body.max_tokens, set: (forwarded) => forwarded },
  toCanonical: anthropicToCanonical,
  translated: new Set([
    "model",
    "max_tokens",
    "messages",
    "system",
    "tools",
    "tool_choice",
    "stop_sequences",
    "temperature",
    "top_p",
    "stream",
    "provider",
  ]),
  encoder: () => ({ response: canonicalToAnthropic, stream: (model) => new AnthropicStreamEncoder(model) }),
};
