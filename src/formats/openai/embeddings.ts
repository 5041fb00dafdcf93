// OpenAI's embeddings as a client format: served by OpenAI-dialect providers
// only (no other dialect has them), forwarded as sent.
import * as z from "../../zod.ts";
import { modelName, providerName, withoutProvider } from "../fields.ts";
import type { ClientFormat } from "../types.ts";

export const openaiEmbeddingsSchema = z.looseObject({
  model: modelName,
  input: z.union([z.string(), z.array(z.string()), z.array(z.number()), z.array(z.array(z.number()))], {
    message: "must be text, texts or tokens",
  }),
  provider: z.optional(providerName),
});

export type OpenAIEmbeddingsBody = z.infer<typeof openaiEmbeddingsSchema>;

export const openaiEmbeddings: ClientFormat<OpenAIEmbeddingsBody> = {
  name: "openai-embeddings",
  dialect: "openai-embeddings",
  errors: "openai",
  schema: openaiEmbeddingsSchema,
  facts: (body) => ({ model: body.model, stream: false, provider: body.provider }),
  forwarded: withoutProvider,
  // Embeddings generate nothing: only their input is reserved.
  prompt: (body) => [body.input, ""],
};
