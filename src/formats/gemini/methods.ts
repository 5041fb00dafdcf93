// Gemini's methods beside generation, as clients send them: `embedContent`,
// `batchEmbedContents` and `countTokens` on `models/{model}`. What routing,
// metering and translation need is checked; the rest is forwarded as sent.
import * as z from "../../zod.ts";
import { positiveInt } from "../fields.ts";
import { geminiGenerateSchema } from "./request.ts";

const part = z.looseObject({ text: z.optional(z.string({ message: "must be a string" })) });
const content = z.looseObject({ role: z.optional(z.string()), parts: z.array(part, { message: "must be an array of parts" }) });

const embedRequest = z.looseObject({
  /** `models/{model}`; Gemini requires a batch's to be the path's. */
  model: z.optional(z.string({ message: "must be a string" })),
  content,
  taskType: z.optional(z.string({ message: "must be a string" })),
  title: z.optional(z.string({ message: "must be a string" })),
  outputDimensionality: z.optional(positiveInt),
});
export type GeminiEmbedRequest = z.infer<typeof embedRequest>;

export const geminiEmbedSchema = embedRequest;

export const geminiBatchEmbedSchema = z.looseObject({
  requests: z
    .array(embedRequest, { message: "must be an array of requests" })
    .check(z.minLength(1, { message: "must not be empty" })),
});
export type GeminiBatchEmbedBody = z.infer<typeof geminiBatchEmbedSchema>;

/** Either `contents`, or a whole `generateContentRequest` (system instruction and tools counted too). */
export const geminiCountTokensSchema = z
  .looseObject({
    contents: z.optional(geminiGenerateSchema.shape.contents),
    generateContentRequest: z.optional(geminiGenerateSchema),
  })
  .check(
    z.refine((body) => (body.contents === undefined) !== (body.generateContentRequest === undefined), {
      message: "exactly one of `contents` and `generateContentRequest` is required",
      path: ["contents"],
    }),
  );
export type GeminiCountTokensBody = z.infer<typeof geminiCountTokensSchema>;

/** A request's texts, in order; a part that is not text is named by its index, since only Gemini embeds those. */
export function embedTexts(request: GeminiEmbedRequest): { texts: string[]; other?: number } {
  const texts: string[] = [];
  for (const [index, piece] of request.content.parts.entries()) {
    if (typeof piece.text !== "string") return { texts, other: index };
    texts.push(piece.text);
  }
  return { texts };
}
