// Google's Gemini API: list prices in USD per million tokens, by exact model id, as
// published in late 2026. usage/prices.ts says how a dated or versioned name
// finds its entry; `long` is the rate for the whole request once its prompt
// passes `above` tokens.
import type { PriceList } from "../../usage/prices.ts";

export const GEMINI_PRICES: PriceList = {
  "gemini-1.5-flash": { input: 0.075, output: 0.3, long: { above: 128_000, input: 0.15, output: 0.6 } },
  "gemini-1.5-flash-8b": { input: 0.0375, output: 0.15, long: { above: 128_000, input: 0.075, output: 0.3 } },
  "gemini-1.5-pro": { input: 1.25, output: 5, long: { above: 128_000, input: 2.5, output: 10 } },
  "gemini-2.0-flash": { input: 0.1, output: 0.4, cachedInput: 0.025 },
  "gemini-2.0-flash-001": { input: 0.1, output: 0.4, cachedInput: 0.025 },
  "gemini-2.0-flash-lite": { input: 0.075, output: 0.3, cachedInput: 0.01875 },
  "gemini-2.0-flash-lite-001": { input: 0.075, output: 0.3, cachedInput: 0.01875 },
  "gemini-2.5-computer-use-preview-10-2025": { input: 1.25, output: 10 },
  "gemini-2.5-flash": { input: 0.3, output: 2.5, cachedInput: 0.03 },
  // Images out are output tokens (1,290 an image, about $0.039).
  "gemini-2.5-flash-image": { input: 0.3, output: 30 },
  "gemini-2.5-flash-image-preview": { input: 0.3, output: 30 },
  "gemini-2.5-flash-lite": { input: 0.1, output: 0.4, cachedInput: 0.01 },
  "gemini-2.5-flash-lite-preview-06-17": { input: 0.1, output: 0.4, cachedInput: 0.025 },
  "gemini-2.5-flash-lite-preview-09-2025": { input: 0.1, output: 0.4, cachedInput: 0.01 },
  "gemini-2.5-flash-native-audio-latest": { input: 0.3, output: 2.5 },
  "gemini-2.5-flash-native-audio-preview-09-2025": { input: 0.3, output: 2.5 },
  "gemini-2.5-flash-native-audio-preview-12-2025": { input: 0.3, output: 2.5 },
  "gemini-2.5-flash-preview-09-2025": { input: 0.3, output: 2.5, cachedInput: 0.075 },
  "gemini-2.5-pro": {
    input: 1.25,
    output: 10,
    cachedInput: 0.125,
    long: { above: 200_000, input: 2.5, output: 15, cachedInput: 0.25 },
  },
  "gemini-2.5-flash-preview-tts": { input: 0.5, output: 10 },
  "gemini-2.5-pro-preview-tts": { input: 1.25, output: 10, cachedInput: 0.125 },
  "gemini-3-flash-preview": { input: 0.5, output: 3, cachedInput: 0.05 },
  "gemini-3-pro-preview": {
    input: 2,
    output: 12,
    cachedInput: 0.2,
    long: { above: 200_000, input: 4, output: 18, cachedInput: 0.4 },
  },
  "gemini-3.1-flash-lite": { input: 0.25, output: 1.5, cachedInput: 0.025 },
  "gemini-3.1-flash-lite-preview": { input: 0.25, output: 1.5, cachedInput: 0.025 },
  "gemini-3.1-flash-live-preview": { input: 0.75, output: 4.5 },
  "gemini-3.1-pro-preview": {
    input: 2,
    output: 12,
    cachedInput: 0.2,
    long: { above: 200_000, input: 4, output: 18, cachedInput: 0.4 },
  },
  "gemini-3.1-pro-preview-customtools": {
    input: 2,
    output: 12,
    cachedInput: 0.2,
    long: { above: 200_000, input: 4, output: 18, cachedInput: 0.4 },
  },
  "gemini-3.5-flash": { input: 1.5, output: 9, cachedInput: 0.15 },
  "gemini-embedding-001": { input: 0.15, output: 0 },
  "gemini-embedding-2": { input: 0.2, output: 0 },
  "gemini-embedding-2-preview": { input: 0.2, output: 0 },
  "gemini-flash-latest": { input: 0.3, output: 2.5, cachedInput: 0.075 },
  "gemini-flash-lite-latest": { input: 0.1, output: 0.4, cachedInput: 0.025 },
  "gemini-omni-flash-preview": { input: 1.5, output: 9 },
  "gemini-pro-latest": {
    input: 1.25,
    output: 10,
    cachedInput: 0.125,
    long: { above: 200_000, input: 2.5, output: 15, cachedInput: 0.25 },
  },
  "gemini-robotics-er-1.5-preview": { input: 0.3, output: 2.5, cachedInput: 0 },
  // Imagen: per image, whatever its size (imagePrice takes the one entry for any).
  "imagen-3.0-fast-generate-001": { input: 0, output: 0, media: { image: { "standard/1024x1024": 0.02 } } },
  "imagen-3.0-generate-001": { input: 0, output: 0, media: { image: { "standard/1024x1024": 0.04 } } },
  "imagen-3.0-generate-002": { input: 0, output: 0, media: { image: { "standard/1024x1024": 0.04 } } },
  "imagen-4.0-fast-generate-001": { input: 0, output: 0, media: { image: { "standard/1024x1024": 0.02 } } },
  "imagen-4.0-generate-001": { input: 0, output: 0, media: { image: { "standard/1024x1024": 0.04 } } },
  "imagen-4.0-ultra-generate-001": { input: 0, output: 0, media: { image: { "standard/1024x1024": 0.06 } } },
};
