// The mock's Google media: Gemini's speech models (generateContent with an
// audio modality, answered with 16-bit mono PCM inline at 24 kHz, as Gemini
// sends it) and Imagen's `:predict` (the tiny PNG per sample; a prompt that
// says "forbidden" has its last sample withheld by the safety filter).
import { MOCK_PNG_BASE64 } from "./media.ts";
import { countTokens } from "./text.ts";

/** A few of Gemini's prebuilt voices; any other is refused, as Gemini refuses it. */
const VOICES = new Set(["Kore", "Puck", "Charon", "Zephyr", "Fenrir", "Leda", "Orus", "Aoede"]);
/** A tenth of a second of audio per token of text spoken. */
const SECONDS_PER_TOKEN = 0.1;
const RATE = 24_000;

type Answer = { status: number; body: unknown };

const invalid = (message: string): Answer => ({
  status: 400,
  body: { error: { code: 400, message, status: "INVALID_ARGUMENT" } },
});

interface SpeechBody {
  contents?: { parts?: { text?: string }[] }[];
  generationConfig?: {
    responseModalities?: unknown;
    speechConfig?: { voiceConfig?: { prebuiltVoiceConfig?: { voiceName?: string } } };
  };
}

export function wantsGeminiAudio(body: unknown): boolean {
  const modalities = (body as SpeechBody | undefined)?.generationConfig?.responseModalities;
  return Array.isArray(modalities) && modalities.includes("AUDIO");
}

/** PCM whose bytes count up, the same every time for the same length. */
export function mockPcm(seconds: number): Buffer {
  const bytes = Buffer.alloc(Math.round(seconds * RATE) * 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = i % 251;
  return bytes;
}

export function geminiSpeechAnswer(body: SpeechBody, model: string): Answer {
  if (!/-tts(?:$|-)/.test(model)) return invalid(`Model ${model} does not support the requested response modalities: audio`);
  const voice = body.generationConfig?.speechConfig?.voiceConfig?.prebuiltVoiceConfig?.voiceName;
  if (voice !== undefined && !VOICES.has(voice)) return invalid(`Voice ${voice} is not supported.`);
  const text = (body.contents ?? [])
    .flatMap((content) => content.parts ?? [])
    .map((part) => part.text ?? "")
    .join("");
  const promptTokens = countTokens(text);
  const seconds = promptTokens * SECONDS_PER_TOKEN;
  const audioTokens = Math.ceil(seconds * 25);
  const data = mockPcm(seconds).toString("base64");
  return {
    status: 200,
    body: {
      candidates: [
        {
          content: { role: "model", parts: [{ inlineData: { mimeType: `audio/L16;codec=pcm;rate=${RATE}`, data } }] },
          finishReason: "STOP",
          index: 0,
        },
      ],
      usageMetadata: {
        promptTokenCount: promptTokens,
        candidatesTokenCount: audioTokens,
        totalTokenCount: promptTokens + audioTokens,
        promptTokensDetails: [{ modality: "TEXT", tokenCount: promptTokens }],
        candidatesTokensDetails: [{ modality: "AUDIO", tokenCount: audioTokens }],
      },
      modelVersion: model,
    },
  };
}

interface PredictBody {
  instances?: { prompt?: unknown }[];
  parameters?: { sampleCount?: unknown; aspectRatio?: unknown; outputOptions?: { mimeType?: unknown } };
}

const ASPECT_RATIOS = new Set(["1:1", "3:4", "4:3", "9:16", "16:9"]);

export function imagenAnswer(body: unknown, model: string): Answer {
  if (!/^imagen-/.test(model)) return invalid(`Model ${model} does not support predict.`);
  const { instances, parameters = {} } = (body ?? {}) as PredictBody;
  const prompt = instances?.[0]?.prompt;
  if (instances?.length !== 1 || typeof prompt !== "string" || !prompt) return invalid("instances[0].prompt is required.");
  const count = parameters.sampleCount ?? 4;
  if (typeof count !== "number" || !Number.isInteger(count) || count < 1 || count > 4) {
    return invalid("sampleCount must be between 1 and 4.");
  }
  if (parameters.aspectRatio !== undefined && !ASPECT_RATIOS.has(String(parameters.aspectRatio))) {
    return invalid(`Unsupported aspect ratio: ${String(parameters.aspectRatio)}.`);
  }
  const mimeType = typeof parameters.outputOptions?.mimeType === "string" ? parameters.outputOptions.mimeType : "image/png";
  const predictions: Record<string, string>[] = Array.from({ length: count }, () => ({
    mimeType,
    bytesBase64Encoded: MOCK_PNG_BASE64,
  }));
  if (prompt.includes("forbidden")) {
    predictions[count - 1] = { raiFilteredReason: "Unable to show generated images. All images were filtered out." };
  }
  return { status: 200, body: { predictions } };
}
