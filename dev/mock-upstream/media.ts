// The mock's media APIs, as OpenAI shapes them: transcription and
// translation of a multipart upload (JSON, verbose JSON, text, SRT, VTT, or
// events), speech as deterministic audio bytes sent in paced chunks (or as
// events), images as a tiny PNG, and moderation. What Whisper reports is
// seconds, what gpt-4o-* models report is tokens, as the real APIs do.
import type { ServerResponse } from "node:http";
import { sendJson } from "../standins/http.ts";
import { openaiError } from "./openai.ts";
import { countTokens } from "./text.ts";

/** A 1×1 transparent PNG: the image every image call answers with. */
export const MOCK_PNG_BASE64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

export const MEDIA_PATHS = new Set([
  "/v1/audio/transcriptions",
  "/v1/audio/translations",
  "/v1/audio/speech",
  "/v1/images/generations",
  "/v1/images/edits",
  "/v1/moderations",
]);

/** Bytes of speech per character of input: so a test knows how long the audio is. */
export const SPEECH_BYTES_PER_CHARACTER = 64;

/** The fields of a multipart upload, files as their name, type and size: what the mock records. */
export async function multipartFields(
  raw: Buffer,
  contentType: string,
): Promise<{ form: FormData; summary: Record<string, unknown> }> {
  const form = await new Request("http://mock.invalid/", {
    method: "POST",
    headers: { "content-type": contentType },
    body: new Uint8Array(raw),
  }).formData();
  const summary: Record<string, unknown> = {};
  form.forEach((value, name) => {
    const entry = typeof value === "string" ? value : { name: value.name, type: value.type, size: value.size };
    summary[name] = name in summary ? [summary[name], entry].flat() : entry;
  });
  return { form, summary };
}

/** A recording's seconds: from a WAV header's byte rate, else at 16,000 bytes a second. */
async function secondsOf(file: File): Promise<number> {
  const bytes = Buffer.from(await file.arrayBuffer());
  if (bytes.length >= 44 && bytes.toString("ascii", 0, 4) === "RIFF" && bytes.toString("ascii", 8, 12) === "WAVE") {
    const byteRate = bytes.readUInt32LE(28);
    return byteRate > 0 ? (bytes.length - 44) / byteRate : 0;
  }
  return bytes.length / 16_000;
}

const timestamp = (seconds: number, separator: string) => {
  const whole = new Date(Math.round(seconds * 1000)).toISOString().slice(11, 23);
  return whole.replace(".", separator);
};

function sendText(res: ServerResponse, text: string, type = "text/plain; charset=utf-8"): void {
  res.writeHead(200, { "content-type": type, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function sendEvents(res: ServerResponse, events: unknown[], intervalMs: number): Promise<void> {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  for (const event of events) {
    if (res.destroyed) return;
    res.write(`data: ${JSON.stringify(event)}\n\n`);
    if (intervalMs > 0) await sleep(intervalMs);
  }
  res.end();
}

async function transcribe(res: ServerResponse, form: FormData, translate: boolean, intervalMs: number): Promise<void> {
  const file = form.get("file");
  const model = String(form.get("model") ?? "");
  if (!(file instanceof File)) return sendJson(res, 400, openaiError(400, "Missing required parameter: 'file'."));
  if (!model) return sendJson(res, 400, openaiError(400, "Missing required parameter: 'model'."));
  const seconds = await secondsOf(file);
  const text = `mock ${translate ? "translation" : "transcript"} of ${file.name} (${file.size} bytes)`;
  const byTokens = model.startsWith("gpt-");
  const usage = byTokens
    ? {
        type: "tokens",
        input_tokens: Math.ceil(seconds * 10),
        input_token_details: { text_tokens: 0, audio_tokens: Math.ceil(seconds * 10) },
        output_tokens: countTokens(text),
        total_tokens: Math.ceil(seconds * 10) + countTokens(text),
      }
    : { type: "duration", seconds: Math.round(seconds * 1000) / 1000 };
  if (form.get("stream") === "true") {
    const deltas = text.split(" ").map((word, i) => ({ type: "transcript.text.delta", delta: i === 0 ? word : ` ${word}` }));
    return sendEvents(res, [...deltas, { type: "transcript.text.done", text, usage }], intervalMs);
  }
  const format = String(form.get("response_format") ?? "json");
  const end = Math.max(seconds, 0.001);
  if (format === "text") return sendText(res, `${text}\n`);
  if (format === "srt") return sendText(res, `1\n${timestamp(0, ",")} --> ${timestamp(end, ",")}\n${text}\n\n`);
  if (format === "vtt") return sendText(res, `WEBVTT\n\n${timestamp(0, ".")} --> ${timestamp(end, ".")}\n${text}\n\n`);
  if (format === "verbose_json") {
    return sendJson(res, 200, {
      task: translate ? "translate" : "transcribe",
      language: "english",
      duration: Math.round(seconds * 1000) / 1000,
      text,
      segments: [{ id: 0, start: 0, end, text }],
    });
  }
  return sendJson(res, 200, { text, usage });
}

/** Deterministic bytes for a text and voice: the same request always sounds the same. */
export function speechBytes(input: string, voice: string): Buffer {
  const bytes = Buffer.alloc(input.length * SPEECH_BYTES_PER_CHARACTER);
  let state = 2166136261;
  for (const char of `${voice}:${input}`) state = Math.imul(state ^ char.charCodeAt(0), 16777619) >>> 0;
  for (let i = 0; i < bytes.length; i++) {
    state = Math.imul(state ^ i, 16777619) >>> 0;
    bytes[i] = state & 0xff;
  }
  return bytes;
}

const AUDIO_TYPES: Record<string, string> = {
  mp3: "audio/mpeg",
  opus: "audio/opus",
  aac: "audio/aac",
  flac: "audio/flac",
  wav: "audio/wav",
  pcm: "audio/pcm",
};

async function speak(res: ServerResponse, body: Record<string, unknown>, intervalMs: number): Promise<void> {
  const { input, voice, model } = body;
  if (typeof input !== "string" || !input) return sendJson(res, 400, openaiError(400, "Missing required parameter: 'input'."));
  if (typeof model !== "string") return sendJson(res, 400, openaiError(400, "Missing required parameter: 'model'."));
  const audio = speechBytes(input, typeof voice === "string" ? voice : JSON.stringify(voice));
  const chunks: Buffer[] = [];
  for (let at = 0; at < audio.length; at += 1024) chunks.push(audio.subarray(at, at + 1024));
  if (body.stream_format === "sse") {
    const events = [
      ...chunks.map((chunk) => ({ type: "speech.audio.delta", audio: chunk.toString("base64") })),
      {
        type: "speech.audio.done",
        usage: {
          input_tokens: countTokens(input),
          output_tokens: chunks.length,
          total_tokens: countTokens(input) + chunks.length,
        },
      },
    ];
    return sendEvents(res, events, intervalMs);
  }
  const format = typeof body.response_format === "string" ? body.response_format : "mp3";
  res.writeHead(200, { "content-type": AUDIO_TYPES[format] ?? "audio/mpeg", "transfer-encoding": "chunked" });
  for (const chunk of chunks) {
    if (res.destroyed) return;
    res.write(chunk);
    if (intervalMs > 0) await sleep(intervalMs);
  }
  res.end();
}

function draw(res: ServerResponse, fields: Record<string, unknown>): void {
  const model = typeof fields.model === "string" ? fields.model : "dall-e-2";
  const n = Number(fields.n ?? 1);
  const gptImage = model.startsWith("gpt-image");
  const size = typeof fields.size === "string" && fields.size !== "auto" ? fields.size : "1024x1024";
  const quality =
    typeof fields.quality === "string" && fields.quality !== "auto" ? fields.quality : gptImage ? "high" : "standard";
  const asUrl = !gptImage && fields.response_format !== "b64_json";
  const data = Array.from({ length: n }, () =>
    asUrl ? { url: `https://mock.invalid/images/${model}.png`, revised_prompt: fields.prompt } : { b64_json: MOCK_PNG_BASE64 },
  );
  sendJson(res, 200, {
    created: Math.floor(Date.now() / 1000),
    data,
    ...(gptImage && {
      size,
      quality,
      output_format: "png",
      usage: { input_tokens: countTokens(String(fields.prompt ?? "")), output_tokens: 4160 * n, total_tokens: 0 },
    }),
  });
}

/** Moderation: flagged exactly when the text says `flag-me`, so a test can choose. */
function moderate(res: ServerResponse, body: Record<string, unknown>): void {
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  const results = inputs.map((input) => {
    const flagged = JSON.stringify(input ?? "").includes("flag-me");
    return {
      flagged,
      categories: { harassment: false, hate: false, violence: flagged, "self-harm": false, sexual: false },
      category_scores: { harassment: 0.001, hate: 0.001, violence: flagged ? 0.97 : 0.002, "self-harm": 0.001, sexual: 0.001 },
      category_applied_input_types: { violence: ["text"] },
    };
  });
  sendJson(res, 200, { id: "modr-mock", model: body.model ?? "omni-moderation-latest", results });
}

export async function answerMedia(
  res: ServerResponse,
  input: { path: string; json?: Record<string, unknown>; form?: FormData; fields: Record<string, unknown>; intervalMs: number },
): Promise<void> {
  const { path, form, json, fields, intervalMs } = input;
  const isUpload = path === "/v1/audio/transcriptions" || path === "/v1/audio/translations" || path === "/v1/images/edits";
  if (isUpload && !form) return sendJson(res, 400, openaiError(400, "This endpoint takes a multipart/form-data upload."));
  if (!isUpload && !json) return sendJson(res, 400, openaiError(400, "We could not parse the JSON body of your request."));
  if (path === "/v1/audio/transcriptions") return transcribe(res, form as FormData, false, intervalMs);
  if (path === "/v1/audio/translations") return transcribe(res, form as FormData, true, intervalMs);
  if (path === "/v1/audio/speech") return speak(res, json ?? {}, intervalMs);
  if (path === "/v1/moderations") return moderate(res, json ?? {});
  if (path === "/v1/images/edits" && !form?.get("image") && !form?.get("image[]")) {
    return sendJson(res, 400, openaiError(400, "Missing required parameter: 'image'."));
  }
  return draw(res, fields);
}

/** Whether a Gemini request asks for an image (`responseModalities` with IMAGE). */
export function wantsGeminiImage(body: unknown): boolean {
  const modalities = (body as { generationConfig?: { responseModalities?: unknown } } | undefined)?.generationConfig
    ?.responseModalities;
  return Array.isArray(modalities) && modalities.includes("IMAGE");
}

/** Gemini's answer with an image: the tiny PNG inline, 1,290 output tokens as Google bills one. */
export function geminiImageAnswer(body: { contents?: { parts?: { text?: string }[] }[] }, model: string) {
  const prompt = (body.contents ?? [])
    .flatMap((content) => content.parts ?? [])
    .map((part) => part.text ?? "")
    .join("");
  const promptTokens = countTokens(prompt);
  return {
    candidates: [
      {
        content: { role: "model", parts: [{ inlineData: { mimeType: "image/png", data: MOCK_PNG_BASE64 } }] },
        finishReason: "STOP",
        index: 0,
      },
    ],
    usageMetadata: { promptTokenCount: promptTokens, candidatesTokenCount: 1290, totalTokenCount: promptTokens + 1290 },
    modelVersion: model,
  };
}
