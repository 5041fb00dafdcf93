// Cohere's v2 chat API as a client format: forwarded as sent to
// Cohere-dialect providers (unknown fields such as `documents` kept),
// decoded to the canonical form for the others.
import { withoutProvider } from "../fields.ts";
import type { ClientFormat } from "../types.ts";
import { type CohereChatBody, cohereChatSchema, cohereToCanonical } from "./request.ts";
import { CohereStreamEncoder, canonicalToCohere } from "./response.ts";

export const cohereChat: ClientFormat<CohereChatBody> = {
  name: "cohere",
  dialect: "cohere-chat",
  errors: "cohere",
  schema: cohereChatSchema,
  facts: (body) => ({ model: body.model, stream: body.stream === true, provider: body.provider }),
  forwarded: withoutProvider,
  // Grounding documents are input too: they are reserved with the messages.
  prompt: (body) => [body.messages, body.tools ?? "", body.documents ?? ""],
  output: { of: (body) => body.max_tokens, set: (forwarded, cap) => ({ ...forwarded, max_tokens: cap }) },
  toCanonical: cohereToCanonical,
  translated: new Set([
    "model",
    "messages",
    "tools",
    "tool_choice",
    "response_format",
    "max_tokens",
    "stop_sequences",
    "temperature",
    "p",
    "stream",
    "provider",
  ]),
  encoder: () => ({ response: canonicalToCohere, stream: () => new CohereStreamEncoder() }),
};
