// OpenAI: list prices in USD per million tokens, by exact model id, as
// published in late 2026. usage/prices.ts says how a dated or versioned name
// finds its entry; `long` is the rate for the whole request once its prompt
// passes `above` tokens.
import type { PriceList, ToolFees } from "../../usage/prices.ts";

// Images are priced per image by quality and size, the output image's tokens with it
// (so an image is never billed twice); dall-e-2 has one quality.
const GPT_IMAGE_1 = {
  "low/1024x1024": 0.011,
  "low/1024x1536": 0.016,
  "low/1536x1024": 0.016,
  "medium/1024x1024": 0.042,
  "medium/1024x1536": 0.063,
  "medium/1536x1024": 0.063,
  "high/1024x1024": 0.167,
  "high/1024x1536": 0.25,
  "high/1536x1024": 0.25,
};
const DALL_E_3 = {
  "standard/1024x1024": 0.04,
  "standard/1024x1792": 0.08,
  "standard/1792x1024": 0.08,
  "hd/1024x1024": 0.08,
  "hd/1024x1792": 0.12,
  "hd/1792x1024": 0.12,
};
const DALL_E_2 = { "standard/256x256": 0.016, "standard/512x512": 0.018, "standard/1024x1024": 0.02 };

/** The media models: audio per second ($0.006 a minute for Whisper) or per million characters spoken, images per image. */
const MEDIA_PRICES: PriceList = {
  "dall-e-2": { input: 0, output: 0, media: { image: DALL_E_2 } },
  "dall-e-3": { input: 0, output: 0, media: { image: DALL_E_3 } },
  "gpt-4o-mini-transcribe": { input: 3, output: 5, media: { audioSecond: 0.003 / 60 } },
  // Spoken audio is billed in audio tokens OpenAI does not report for a file answer: at its estimate of $0.015 a minute.
  "gpt-4o-mini-tts": { input: 0.6, output: 12, media: { characters: 15 } },
  // Realtime sessions: text tokens at these rates, audio tokens at `audioTokens`'.
  "gpt-realtime": { input: 4, output: 16, cachedInput: 0.4, media: { audioTokens: { input: 32, output: 64 } } },
  "gpt-realtime-mini": { input: 0.6, output: 2.4, cachedInput: 0.06, media: { audioTokens: { input: 10, output: 20 } } },
  "gpt-4o-realtime-preview": { input: 5, output: 20, cachedInput: 2.5, media: { audioTokens: { input: 40, output: 80 } } },
  "gpt-4o-mini-realtime-preview": {
    input: 0.6,
    output: 2.4,
    cachedInput: 0.3,
    media: { audioTokens: { input: 10, output: 20 } },
  },
  "gpt-4o-transcribe": { input: 6, output: 10, media: { audioSecond: 0.006 / 60 } },
  // Input: text $5 a million, images $10. Output: per image.
  "gpt-image-1": { input: 5, output: 0, media: { image: GPT_IMAGE_1, imageInput: 10 } },
  "omni-moderation-2024-09-26": { input: 0, output: 0 },
  "omni-moderation-latest": { input: 0, output: 0 },
  "text-moderation-latest": { input: 0, output: 0 },
  "text-moderation-stable": { input: 0, output: 0 },
  "tts-1": { input: 0, output: 0, media: { characters: 15 } },
  "tts-1-hd": { input: 0, output: 0, media: { characters: 30 } },
  "whisper-1": { input: 0, output: 0, media: { audioSecond: 0.006 / 60 } },
};

export const OPENAI_PRICES: PriceList = {
  ...MEDIA_PRICES,
  "babbage-002": { input: 0.4, output: 0.4 },
  "chatgpt-4o-latest": { input: 5, output: 15 },
  "codex-mini-latest": { input: 1.5, output: 6, cachedInput: 0.375 },
  "davinci-002": { input: 2, output: 2 },
  "gpt-3.5-turbo": { input: 0.5, output: 1.5 },
  "gpt-3.5-turbo-0125": { input: 0.5, output: 1.5 },
  "gpt-3.5-turbo-1106": { input: 1, output: 2 },
  "gpt-3.5-turbo-16k": { input: 3, output: 4 },
  "gpt-3.5-turbo-instruct": { input: 1.5, output: 2 },
  "gpt-3.5-turbo-instruct-0914": { input: 1.5, output: 2 },
  "gpt-4": { input: 30, output: 60 },
  "gpt-4-0125-preview": { input: 10, output: 30 },
  "gpt-4-0314": { input: 30, output: 60 },
  "gpt-4-0613": { input: 30, output: 60 },
  "gpt-4-1106-preview": { input: 10, output: 30 },
  "gpt-4-turbo": { input: 10, output: 30 },
  "gpt-4-turbo-2024-04-09": { input: 10, output: 30 },
  "gpt-4-turbo-preview": { input: 10, output: 30 },
  "gpt-4.1": { input: 2, output: 8, cachedInput: 0.5 },
  "gpt-4.1-2025-04-14": { input: 2, output: 8, cachedInput: 0.5 },
  "gpt-4.1-mini": { input: 0.4, output: 1.6, cachedInput: 0.1 },
  "gpt-4.1-mini-2025-04-14": { input: 0.4, output: 1.6, cachedInput: 0.1 },
  "gpt-4.1-nano": { input: 0.1, output: 0.4, cachedInput: 0.025 },
  "gpt-4.1-nano-2025-04-14": { input: 0.1, output: 0.4, cachedInput: 0.025 },
  "gpt-4o": { input: 2.5, output: 10, cachedInput: 1.25 },
  "gpt-4o-2024-05-13": { input: 5, output: 15 },
  "gpt-4o-2024-08-06": { input: 2.5, output: 10, cachedInput: 1.25 },
  "gpt-4o-2024-11-20": { input: 2.5, output: 10, cachedInput: 1.25 },
  "gpt-4o-audio-preview": { input: 2.5, output: 10 },
  "gpt-4o-audio-preview-2024-12-17": { input: 2.5, output: 10 },
  "gpt-4o-audio-preview-2025-06-03": { input: 2.5, output: 10 },
  "gpt-4o-mini": { input: 0.15, output: 0.6, cachedInput: 0.075 },
  "gpt-4o-mini-2024-07-18": { input: 0.15, output: 0.6, cachedInput: 0.075 },
  "gpt-4o-mini-audio-preview": { input: 0.15, output: 0.6 },
  "gpt-4o-mini-audio-preview-2024-12-17": { input: 0.15, output: 0.6 },
  "gpt-4o-mini-search-preview": { input: 0.15, output: 0.6, cachedInput: 0.075 },
  "gpt-4o-mini-search-preview-2025-03-11": { input: 0.15, output: 0.6, cachedInput: 0.075 },
  "gpt-4o-search-preview": { input: 2.5, output: 10, cachedInput: 1.25 },
  "gpt-4o-search-preview-2025-03-11": { input: 2.5, output: 10, cachedInput: 1.25 },
  "gpt-5": { input: 1.25, output: 10, cachedInput: 0.125 },
  "gpt-5-2025-08-07": { input: 1.25, output: 10, cachedInput: 0.125 },
  "gpt-5-chat": { input: 1.25, output: 10, cachedInput: 0.125 },
  "gpt-5-chat-latest": { input: 1.25, output: 10, cachedInput: 0.125 },
  "gpt-5-codex": { input: 1.25, output: 10, cachedInput: 0.125 },
  "gpt-5-mini": { input: 0.25, output: 2, cachedInput: 0.025 },
  "gpt-5-mini-2025-08-07": { input: 0.25, output: 2, cachedInput: 0.025 },
  "gpt-5-nano": { input: 0.05, output: 0.4, cachedInput: 0.005 },
  "gpt-5-nano-2025-08-07": { input: 0.05, output: 0.4, cachedInput: 0.005 },
  "gpt-5-pro": { input: 15, output: 120 },
  "gpt-5-pro-2025-10-06": { input: 15, output: 120 },
  "gpt-5-search-api": { input: 1.25, output: 10, cachedInput: 0.125 },
  "gpt-5-search-api-2025-10-14": { input: 1.25, output: 10, cachedInput: 0.125 },
  "gpt-5.1": { input: 1.25, output: 10, cachedInput: 0.125 },
  "gpt-5.1-2025-11-13": { input: 1.25, output: 10, cachedInput: 0.125 },
  "gpt-5.1-chat-latest": { input: 1.25, output: 10, cachedInput: 0.125 },
  "gpt-5.1-codex": { input: 1.25, output: 10, cachedInput: 0.125 },
  "gpt-5.1-codex-max": { input: 1.25, output: 10, cachedInput: 0.125 },
  "gpt-5.1-codex-mini": { input: 0.25, output: 2, cachedInput: 0.025 },
  "gpt-5.2": { input: 1.75, output: 14, cachedInput: 0.175 },
  "gpt-5.2-2025-12-11": { input: 1.75, output: 14, cachedInput: 0.175 },
  "gpt-5.2-chat-latest": { input: 1.75, output: 14, cachedInput: 0.175 },
  "gpt-5.2-codex": { input: 1.75, output: 14, cachedInput: 0.175 },
  "gpt-5.2-pro": { input: 21, output: 168 },
  "gpt-5.2-pro-2025-12-11": { input: 21, output: 168 },
  "gpt-5.3-chat-latest": { input: 1.75, output: 14, cachedInput: 0.175 },
  "gpt-5.3-codex": { input: 1.75, output: 14, cachedInput: 0.175 },
  "gpt-5.4": { input: 2.5, output: 15, cachedInput: 0.25 },
  "gpt-5.4-2026-03-05": { input: 2.5, output: 15, cachedInput: 0.25 },
  "gpt-5.4-mini": { input: 0.75, output: 4.5, cachedInput: 0.075 },
  "gpt-5.4-mini-2026-03-17": { input: 0.75, output: 4.5, cachedInput: 0.075 },
  "gpt-5.4-nano": { input: 0.2, output: 1.25, cachedInput: 0.02 },
  "gpt-5.4-nano-2026-03-17": { input: 0.2, output: 1.25, cachedInput: 0.02 },
  "gpt-5.4-pro": { input: 30, output: 180, cachedInput: 3 },
  "gpt-5.4-pro-2026-03-05": { input: 30, output: 180, cachedInput: 3 },
  "gpt-5.5": { input: 5, output: 30, cachedInput: 0.5 },
  "gpt-5.5-2026-04-23": { input: 5, output: 30, cachedInput: 0.5 },
  "gpt-5.5-pro": { input: 30, output: 180, cachedInput: 3 },
  "gpt-5.5-pro-2026-04-23": { input: 30, output: 180, cachedInput: 3 },
  "gpt-5.6": { input: 5, output: 30, cachedInput: 0.5 },
  "gpt-5.6-luna": { input: 1, output: 6, cachedInput: 0.1 },
  "gpt-5.6-sol": { input: 5, output: 30, cachedInput: 0.5 },
  "gpt-5.6-terra": { input: 2.5, output: 15, cachedInput: 0.25 },
  "gpt-audio": { input: 2.5, output: 10 },
  "gpt-audio-1.5": { input: 2.5, output: 10 },
  "gpt-audio-2025-08-28": { input: 2.5, output: 10 },
  "gpt-audio-mini": { input: 0.6, output: 2.4 },
  "gpt-audio-mini-2025-10-06": { input: 0.6, output: 2.4 },
  "gpt-audio-mini-2025-12-15": { input: 0.6, output: 2.4 },
  o1: { input: 15, output: 60, cachedInput: 7.5 },
  "o1-2024-12-17": { input: 15, output: 60, cachedInput: 7.5 },
  "o1-pro": { input: 150, output: 600 },
  "o1-pro-2025-03-19": { input: 150, output: 600 },
  o3: { input: 2, output: 8, cachedInput: 0.5 },
  "o3-2025-04-16": { input: 2, output: 8, cachedInput: 0.5 },
  "o3-deep-research": { input: 10, output: 40, cachedInput: 2.5 },
  "o3-deep-research-2025-06-26": { input: 10, output: 40, cachedInput: 2.5 },
  "o3-mini": { input: 1.1, output: 4.4, cachedInput: 0.55 },
  "o3-mini-2025-01-31": { input: 1.1, output: 4.4, cachedInput: 0.55 },
  "o3-pro": { input: 20, output: 80 },
  "o3-pro-2025-06-10": { input: 20, output: 80 },
  "o4-mini": { input: 1.1, output: 4.4, cachedInput: 0.275 },
  "o4-mini-2025-04-16": { input: 1.1, output: 4.4, cachedInput: 0.275 },
  "o4-mini-deep-research": { input: 2, output: 8, cachedInput: 0.5 },
  "o4-mini-deep-research-2025-06-26": { input: 2, output: 8, cachedInput: 0.5 },
  "text-embedding-3-large": { input: 0.13, output: 0 },
  "text-embedding-3-small": { input: 0.02, output: 0 },
  "text-embedding-ada-002": { input: 0.1, output: 0 },
  "text-embedding-ada-002-v2": { input: 0.1, output: 0 },
};

/** Reasoning models (o-series, GPT-5 and later, Codex) pay the lower web-search-preview fee. */
const REASONING = /^(?:o\d|gpt-(?:[5-9]|\d{2,})|codex)/;

/**
 * What OpenAI charges per call of a built-in tool of the Responses API, in
 * USD: web search $10 per 1,000 calls; the web search preview $10 for
 * reasoning models and $25 for others; file search $2.50 per 1,000 calls;
 * code interpreter $0.03 per container. Image generation is billed as image
 * tokens the answer does not report, so it has no fee here: it is unpriced.
 */
export function openaiToolFees(model: string): ToolFees {
  return {
    web_search: 0.01,
    web_search_preview: REASONING.test(model) ? 0.01 : 0.025,
    file_search: 0.0025,
    code_interpreter: 0.03,
  };
}
