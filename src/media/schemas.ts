// The JSON bodies of OpenAI's media APIs, as Sluice reads them: what routing
// and metering need is checked, everything else is forwarded as sent.
import { modelName, positiveInt, providerName } from "../formats/fields.ts";
import * as z from "../zod.ts";

const text = (what: string) => z.string({ error: (issue) => (issue.input === undefined ? "is required" : `must be ${what}`) });

/** Longest text `/audio/speech` takes, as OpenAI does. */
export const SPEECH_MAX_CHARACTERS = 4096;

export const speechSchema = z.looseObject({
  model: modelName,
  input: text("a string").check(
    z.minLength(1, { message: "is required" }),
    z.maxLength(SPEECH_MAX_CHARACTERS, { message: `must be at most ${SPEECH_MAX_CHARACTERS} characters` }),
  ),
  voice: z.union([z.string(), z.looseObject({ id: z.string() })], { message: "must be a voice name or {id}" }),
  response_format: z.optional(
    z.enum(["mp3", "opus", "aac", "flac", "wav", "pcm"], { message: "must be mp3, opus, aac, flac, wav or pcm" }),
  ),
  stream_format: z.optional(z.enum(["audio", "sse"], { message: "must be audio or sse" })),
  provider: z.optional(providerName),
});
export type SpeechBody = z.infer<typeof speechSchema>;

export const imageGenerationSchema = z.looseObject({
  // As OpenAI: no model means dall-e-2.
  model: z.optional(modelName),
  prompt: text("a string").check(z.minLength(1, { message: "is required" })),
  n: z.optional(positiveInt.check(z.lte(10, { message: "must be at most 10" }))),
  size: z.optional(text("a string")),
  quality: z.optional(text("a string")),
  provider: z.optional(providerName),
});
export type ImageGenerationBody = z.infer<typeof imageGenerationSchema>;

export const moderationSchema = z.looseObject({
  // As OpenAI: no model means omni-moderation-latest.
  model: z.optional(modelName),
  input: z.union([z.string(), z.array(z.unknown())], { message: "must be text, texts or an array of content parts" }),
  provider: z.optional(providerName),
});
export type ModerationBody = z.infer<typeof moderationSchema>;

/** The multipart fields of an upload, for the API's documentation (the route reads the upload itself). */
export const transcriptionFields = z.object({
  file: z.string().check(z.describe("The recording: flac, mp3, mp4, mpeg, mpga, m4a, ogg, opus, wav or webm")),
  model: modelName,
  response_format: z.optional(z.enum(["json", "text", "srt", "verbose_json", "vtt", "diarized_json"])),
  stream: z.optional(z.enum(["true", "false"])),
});

export const imageEditFields = z.object({
  image: z.string().check(z.describe("The image (png, jpeg or webp); `image[]` for several")),
  mask: z.optional(z.string()),
  prompt: z.string(),
  model: z.optional(modelName),
  n: z.optional(z.string()),
  size: z.optional(z.string()),
  quality: z.optional(z.string()),
});
