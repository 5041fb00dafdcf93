// Each media API's request as the gateway routes it: the model, the body to
// forward, how the answer comes back, what to reserve before the call and
// how to read what it used after. Prices come from the tables
// (`Price.media`): audio by the second, speech by the character, images by
// count, quality and size.
import { checkedName, modelName } from "../formats/fields.ts";
import { badRequest } from "../http/errors.ts";
import type { Estimate } from "../limits/index.ts";
import type { Endpoint, MediaApi, ProviderSettings } from "../providers/types.ts";
import type { UsageMeter } from "../usage/meter.ts";
import { type MediaUsage, mediaCostOf, type Price } from "../usage/prices.ts";
import { audioLength } from "./audio.ts";
import type { ImageGenerationBody, ModerationBody, SpeechBody } from "./schemas.ts";
import { AUDIO_FILES, IMAGE_FILES, textField, uploadedFiles } from "./upload.ts";

/** How an answer comes back: a JSON object, text (SRT, VTT), audio bytes, or server-sent events. */
export type AnswerKind = "json" | "text" | "audio" | "events";

export interface MediaRequest {
  api: MediaApi;
  model: string;
  /** A provider the body names (`provider`); the header `x-sluice-provider` is read by the proxy. */
  provider?: string;
  /** The body as forwarded (the gateway's own fields out); the model is each target's. */
  body: FormData | Record<string, unknown>;
  answer: AnswerKind;
  contentType: string;
  /** What to reserve against the caller's limits, at a target's price. */
  estimate(price: Price | undefined): Estimate;
  /** Reads what the call used into the meter, from its JSON answer (or an event of its stream); undefined when it has none. */
  meter(meter: UsageMeter, answer: unknown): void;
}

/** What each translated media exchange is built from: the target's endpoint and settings, and the call. */
export interface MediaExchangeInput {
  endpoint: Endpoint;
  settings: ProviderSettings;
  request: MediaRequest;
  model: string;
  requestId: string;
  clientHeaders: Headers;
}

/** The `size` an image request names, or undefined for none or `auto`. */
export const requestedSize = (body: Record<string, unknown>): string | undefined =>
  typeof body.size === "string" && body.size !== "auto" ? body.size : undefined;

const JSON_TYPE = "application/json";

/** The output tokens Gemini bills an image at. */
export const GEMINI_IMAGE_TOKENS = 1290;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null;
const numberOr = (value: unknown) => (typeof value === "number" && Number.isFinite(value) ? value : undefined);

/** The estimate for a media call priced in dollars: only the dollars, no tokens. */
const dollars = (price: Price | undefined, usage: MediaUsage): Estimate => ({
  inputTokens: 0,
  outputTokens: 0,
  usd: mediaCostOf(price, usage),
});

/** The upload's `model`, required as every OpenAI audio API requires it. */
function uploadModel(form: FormData, fallback?: string): string {
  const model = textField(form, "model") ?? fallback;
  if (model === undefined) throw badRequest("Invalid `model`: is required", "model");
  return checkedName(modelName, model, "model");
}

/** The upload as forwarded: Sluice's own `provider` field taken out. */
function forwardedForm(form: FormData): FormData {
  const forwarded = new FormData();
  for (const [name, value] of form) if (name !== "provider") forwarded.append(name, value);
  return forwarded;
}

/** A language code (`en`, `pt-BR`): what OpenAI's `language` takes. */
const LANGUAGE_CODE = /^[a-z]{2,3}(?:-[a-z0-9]{2,8})*$/i;

/**
 * Transcriptions and translations. An answer that reports tokens
 * (gpt-4o-transcribe) is billed in tokens; one that reports a duration
 * (Whisper's `usage`, `verbose_json`'s `duration`, Mistral's
 * `prompt_audio_seconds`) by the second; one that reports neither (text,
 * SRT, VTT) by the recording's own length: counted from a WAV's samples,
 * or estimated from the file's size at a rate that errs long (audio.ts).
 */
export async function transcriptionRequest(api: "audio/transcriptions" | "audio/translations", form: FormData) {
  const files = uploadedFiles(form, "file", AUDIO_FILES);
  const [file] = files;
  if (!file || files.length > 1) throw badRequest("Invalid `file`: exactly one audio file is required", "file");
  const model = uploadModel(form);
  // A language is a code (`en`, `pt-BR`); a translator to Gemini puts it in the words it sends, so nothing else passes as one.
  for (const language of form.getAll("language")) {
    if (typeof language !== "string" || !LANGUAGE_CODE.test(language)) {
      throw badRequest("Invalid `language`: expected a language code such as `en` (ISO-639-1)", "language");
    }
  }
  const format = textField(form, "response_format") ?? "json";
  const stream = textField(form, "stream") === "true";
  const length = await audioLength(file);
  const heard = { audioSeconds: Math.round(length.seconds * 1000) / 1000 };
  const answer: AnswerKind = stream ? "events" : ["text", "srt", "vtt"].includes(format) ? "text" : "json";
  let reported = false;
  const request: MediaRequest = {
    api,
    model,
    provider: textField(form, "provider"),
    body: forwardedForm(form),
    answer,
    contentType: answer === "events" ? "text/event-stream" : answer === "text" ? "text/plain; charset=utf-8" : JSON_TYPE,
    // A model priced by the second reserves its seconds; one priced in tokens (Gemini's) Gemini's 32 a second.
    estimate: (price) =>
      price?.media?.audioSecond
        ? dollars(price, heard)
        : { inputTokens: Math.ceil(heard.audioSeconds * 32), outputTokens: Math.ceil(heard.audioSeconds * 4) },
    meter(meter, body) {
      const usage = isRecord(body) && isRecord(body.usage) ? body.usage : undefined;
      const inputTokens = numberOr(usage?.input_tokens);
      const seconds =
        numberOr(usage?.seconds) ??
        numberOr(usage?.prompt_audio_seconds) ??
        (isRecord(body) ? numberOr(body.duration) : undefined);
      if (inputTokens !== undefined) {
        meter.setTokens({ promptTokens: inputTokens, completionTokens: numberOr(usage?.output_tokens) ?? 0, cachedTokens: 0 });
        meter.setMedia(undefined);
        reported = true;
      } else if (seconds !== undefined) {
        meter.setMedia({ audioSeconds: seconds });
        reported = true;
      } else if (!reported) {
        meter.setMedia(heard, !length.exact);
      }
    },
  };
  return request;
}

const AUDIO_TYPES: Record<string, string> = {
  mp3: "audio/mpeg",
  opus: "audio/opus",
  aac: "audio/aac",
  flac: "audio/flac",
  wav: "audio/wav",
  pcm: "audio/pcm",
};

/** Speech: billed by the characters it speaks, which are known before the call. */
export function speechRequest(body: SpeechBody): MediaRequest {
  const { provider, ...forwarded } = body;
  const spoken = { characters: body.input.length };
  const events = body.stream_format === "sse";
  return {
    api: "audio/speech",
    model: body.model,
    provider,
    body: forwarded,
    answer: events ? "events" : "audio",
    contentType: events ? "text/event-stream" : (AUDIO_TYPES[body.response_format ?? "mp3"] ?? "audio/mpeg"),
    // A model priced by the character reserves its characters; one priced in tokens (Gemini's) about 4
    // characters a token in and, at about 15 characters a second and 25 tokens a second of audio, 2 a character out.
    estimate: (price) =>
      price?.media?.characters
        ? dollars(price, spoken)
        : { inputTokens: Math.ceil(spoken.characters / 4), outputTokens: spoken.characters * 2 },
    meter: (meter) => meter.setMedia(spoken),
  };
}

/** DALL·E has one quality and a default size; a model that says `auto` (or nothing) is billed by what its answer says it drew. */
function imageDefaults(model: string): { size: string; quality: string } {
  return model.startsWith("dall-e") ? { size: "1024x1024", quality: "standard" } : { size: "auto", quality: "auto" };
}

/**
 * Streamed images (`stream`, and `partial_images`, which only a stream
 * sends) come back as events this API does not read: refused before the
 * call, rather than drawn, billed upstream and recorded as nothing.
 */
function refuseStreamedImages(asked: { stream: boolean; partialImages: boolean }): void {
  if (asked.stream) {
    throw badRequest(
      "Invalid `stream`: streamed images are not supported here; omit `stream` (or set it to false) to get the images in one answer.",
      "stream",
    );
  }
  if (asked.partialImages) {
    throw badRequest(
      "Invalid `partial_images`: partial images come only in a stream, which is not supported here; omit `partial_images`.",
      "partial_images",
    );
  }
}

/**
 * Images: billed per image, by the quality and size the answer reports (or
 * the request asked for), plus the input tokens it reports at the model's
 * input rate (gpt-image-1's prompt and input images; its output tokens are
 * the images themselves, priced per image, so never billed twice).
 */
function imageRequest(input: {
  api: "images/generations" | "images/edits";
  model: string;
  provider?: string;
  body: FormData | Record<string, unknown>;
  n: number;
  size?: string;
  quality?: string;
}): MediaRequest {
  const defaults = imageDefaults(input.model);
  const size = input.size ?? defaults.size;
  const quality = input.quality === undefined || input.quality === "auto" ? defaults.quality : input.quality;
  return {
    api: input.api,
    model: input.model,
    provider: input.provider,
    body: input.body,
    answer: "json",
    contentType: JSON_TYPE,
    // Priced per image where the table says so; otherwise in output tokens, as Gemini bills an image.
    estimate: (price) =>
      price?.media?.image
        ? dollars(price, { images: { count: input.n, size, quality } })
        : { inputTokens: 0, outputTokens: GEMINI_IMAGE_TOKENS * input.n },
    meter(meter, answer) {
      const data = isRecord(answer) && Array.isArray(answer.data) ? answer.data : [];
      const said = (field: string) =>
        isRecord(answer) && typeof answer[field] === "string" ? (answer[field] as string) : undefined;
      // The input tokens are the record's prompt tokens; those that were images (an edit's) cost more.
      const usage = isRecord(answer) && isRecord(answer.usage) ? answer.usage : undefined;
      const details = isRecord(usage?.input_tokens_details) ? usage.input_tokens_details : undefined;
      const imageInputTokens = numberOr(details?.image_tokens);
      meter.setMedia({
        images: { count: data.length, size: said("size") ?? size, quality: said("quality") ?? quality },
        ...(imageInputTokens !== undefined && imageInputTokens > 0 && { imageInputTokens }),
      });
      const inputTokens = numberOr(usage?.input_tokens);
      if (inputTokens !== undefined) {
        meter.setTokens({ promptTokens: inputTokens, completionTokens: numberOr(usage?.output_tokens) ?? 0, cachedTokens: 0 });
      }
    },
  };
}

export function imageGenerationRequest(body: ImageGenerationBody): MediaRequest {
  // Only `false` (or null, as an SDK may send for unset) asks for one answer; anything else may be read as a stream.
  refuseStreamedImages({
    stream: body.stream !== undefined && body.stream !== null && body.stream !== false,
    partialImages: body.partial_images !== undefined && body.partial_images !== null,
  });
  const { provider, ...forwarded } = body;
  const model = body.model ?? "dall-e-2";
  return imageRequest({
    api: "images/generations",
    model,
    provider,
    body: forwarded,
    n: body.n ?? 1,
    size: body.size,
    quality: body.quality,
  });
}

export function imageEditRequest(form: FormData): MediaRequest {
  const images = [...uploadedFiles(form, "image", IMAGE_FILES), ...uploadedFiles(form, "image[]", IMAGE_FILES)];
  if (images.length === 0) throw badRequest("Invalid `image`: at least one image file is required", "image");
  uploadedFiles(form, "mask", IMAGE_FILES);
  const prompt = textField(form, "prompt");
  if (!prompt) throw badRequest("Invalid `prompt`: is required", "prompt");
  const count = textField(form, "n");
  const n = count === undefined ? 1 : Number(count);
  if (!Number.isInteger(n) || n < 1 || n > 10) throw badRequest("Invalid `n`: must be a whole number from 1 to 10", "n");
  // Every copy of a repeated field: which one a provider reads is its own affair.
  refuseStreamedImages({
    stream: form.getAll("stream").some((value) => value !== "false"),
    partialImages: form.has("partial_images"),
  });
  return imageRequest({
    api: "images/edits",
    model: uploadModel(form, "dall-e-2"),
    provider: textField(form, "provider"),
    body: forwardedForm(form),
    n,
    size: textField(form, "size"),
    quality: textField(form, "quality"),
  });
}

/** Moderations: free at OpenAI; the input is counted (about four characters a token) for per-minute token limits. */
export function moderationRequest(body: ModerationBody): MediaRequest {
  const { provider, ...forwarded } = body;
  const characters = JSON.stringify(body.input).length;
  const tokens = Math.ceil(characters / 4);
  return {
    api: "moderations",
    model: body.model ?? "omni-moderation-latest",
    provider,
    body: forwarded,
    answer: "json",
    contentType: JSON_TYPE,
    estimate: () => ({ inputTokens: tokens, outputTokens: 0 }),
    meter(meter) {
      meter.setTokens({ promptTokens: tokens, completionTokens: 0, cachedTokens: 0 });
      meter.flags.usage_estimated = true;
    },
  };
}
