// The JSON bodies of OpenAI's media APIs, as Sluice reads them: what routing
// and metering need is checked, everything else is forwarded as sent.
import * as z from "zod";
import { modelName, positiveInt, providerName } from "../formats/fields.ts";

const text = (what: string) => z.string({ error: (issue) => (issue.input === undefined ? "is required" : `must be ${what}`) });

/** Longest text `/audio/speech` takes, as OpenAI does. */
export const SPEECH_MAX_CHARACTERS = 4096;

export const speechSchema = z.looseObject({
  model: modelName,
  input: text("a string")
    .min(1, { message: "is required" })
    .max(SPEECH_MAX_CHARACTERS, { message: `must be at most ${SPEECH_MAX_CHARACTERS} characters` }),
  voice: z.union([z.string(), z.looseObject({ id: z.string() })], { message: "must be a voice name or {id}" }),
  response_format: z
    .enum(["mp3", "opus", "aac", "flac", "wav", "pcm"], { message: "must be mp3, opus, aac, flac, wav or pcm" })
    .optional(),
  stream_format: z.enum(["audio", "sse"], { message: "must be audio or sse" }).optional(),
  provider: providerName.optional(),
});
export type SpeechBody = z.infer<typeof speechSchema>;

export const imageGenerationSchema = z.looseObject({
  // As OpenAI: no model means dall-e-2.
  model: modelName.optional(),
  prompt: text("a string").min(1, { message: "is required" }),
  n: positiveInt.max(10, { message: "must be at most 10" }).optional(),
  size: text("a string").optional(),
  quality: text("a string").optional(),
  provider: providerName.optional(),
});
export type ImageGenerationBody = z.infer<typeof imageGenerationSchema>;

export const moderationSchema = z.looseObject({
  // As OpenAI: no model means omni-moderation-latest.
  model: modelName.optional(),
  input: z.union([z.string(), z.array(z.unknown())], { message: "must be text, texts or an array of content parts" }),
  provider: providerName.optional(),
});
export type ModerationBody = z.infer<typeof moderationSchema>;

/** The multipart fields of an upload, for the API's documentation (the route reads the upload itself). */
export const transcriptionFields = z.object({
  file: z.string().describe("The recording: flac, mp3, mp4, mpeg, mpga, m4a, ogg, opus, wav or webm"),
  model: modelName,
  response_format: z.enum(["json", "text", "srt", "verbose_json", "vtt", "diarized_json"]).optional(),
  stream: z.enum(["true", "false"]).optional(),
});

export const imageEditFields = z.object({
  image: z.string().describe("The image (png, jpeg or webp); `image[]` for several"),
  mask: z.string().optional(),
  prompt: z.string(),
  model: modelName.optional(),
  n: z.string().optional(),
  size: z.string().optional(),
  quality: z.string().optional(),
});
