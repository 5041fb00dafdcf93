// The parts of OpenAI requests Sluice must understand; every other field is kept.
import * as z from "zod";

const message = z.looseObject({
  role: z.string({ message: "is required" }),
});

export const openaiChatSchema = z.looseObject({
  model: z.string({ message: "is required" }).min(1, { message: "is required" }),
  messages: z.array(message, { message: "must be an array of messages" }).min(1, { message: "must not be empty" }),
  stream: z.boolean().optional(),
  max_tokens: z.number().int().positive().optional(),
  max_completion_tokens: z.number().int().positive().optional(),
});

export const openaiCompletionSchema = z.looseObject({
  model: z.string({ message: "is required" }).min(1, { message: "is required" }),
  prompt: z.union([z.string(), z.array(z.string())], { message: "must be a string or an array of strings" }),
  stream: z.boolean().optional(),
  max_tokens: z.number().int().positive().optional(),
});

export const openaiEmbeddingsSchema = z.looseObject({
  model: z.string({ message: "is required" }).min(1, { message: "is required" }),
  input: z.union([z.string(), z.array(z.string()), z.array(z.number()), z.array(z.array(z.number()))], {
    message: "must be text, texts or tokens",
  }),
});
