// Anthropic: list prices in USD per million tokens, by exact model id, as
// published in late 2026. usage/prices.ts says how a dated or versioned name
// finds its entry; `long` is the rate for the whole request once its prompt
// passes `above` tokens.
import type { PriceList } from "../../usage/prices.ts";

export const ANTHROPIC_PRICES: PriceList = {
  "claude-3-5-haiku-20241022": { input: 0.8, output: 4, cachedInput: 0.08 },
  "claude-3-5-sonnet-20240620": { input: 3, output: 15, cachedInput: 0.3 },
  "claude-3-5-sonnet-20241022": { input: 3, output: 15, cachedInput: 0.3 },
  "claude-3-7-sonnet-20250219": { input: 3, output: 15, cachedInput: 0.3 },
  "claude-3-haiku-20240307": { input: 0.25, output: 1.25, cachedInput: 0.03 },
  "claude-3-opus-20240229": { input: 15, output: 75, cachedInput: 1.5 },
  "claude-4-opus-20250514": { input: 15, output: 75, cachedInput: 1.5 },
  "claude-4-sonnet-20250514": {
    input: 3,
    output: 15,
    cachedInput: 0.3,
    long: { above: 200_000, input: 6, output: 22.5, cachedInput: 0.6 },
  },
  "claude-fable-5": { input: 10, output: 50, cachedInput: 1 },
  "claude-haiku-4-5": { input: 1, output: 5, cachedInput: 0.1 },
  "claude-haiku-4-5-20251001": { input: 1, output: 5, cachedInput: 0.1 },
  "claude-opus-4-0": { input: 15, output: 75, cachedInput: 1.5 },
  "claude-opus-4-1": { input: 15, output: 75, cachedInput: 1.5 },
  "claude-opus-4-1-20250805": { input: 15, output: 75, cachedInput: 1.5 },
  "claude-opus-4-20250514": { input: 15, output: 75, cachedInput: 1.5 },
  "claude-opus-4-5": { input: 5, output: 25, cachedInput: 0.5 },
  "claude-opus-4-5-20251101": { input: 5, output: 25, cachedInput: 0.5 },
  "claude-opus-4-6": { input: 5, output: 25, cachedInput: 0.5 },
  "claude-opus-4-6-20260205": { input: 5, output: 25, cachedInput: 0.5 },
  "claude-opus-4-7": { input: 5, output: 25, cachedInput: 0.5 },
  "claude-opus-4-7-20260416": { input: 5, output: 25, cachedInput: 0.5 },
  "claude-opus-4-8": { input: 5, output: 25, cachedInput: 0.5 },
  "claude-sonnet-4-0": { input: 3, output: 15, cachedInput: 0.3 },
  "claude-sonnet-4-20250514": {
    input: 3,
    output: 15,
    cachedInput: 0.3,
    long: { above: 200_000, input: 6, output: 22.5, cachedInput: 0.6 },
  },
  "claude-sonnet-4-5": {
    input: 3,
    output: 15,
    cachedInput: 0.3,
    long: { above: 200_000, input: 6, output: 22.5, cachedInput: 0.6 },
  },
  "claude-sonnet-4-5-20250929": {
    input: 3,
    output: 15,
    cachedInput: 0.3,
    long: { above: 200_000, input: 6, output: 22.5, cachedInput: 0.6 },
  },
  "claude-sonnet-4-6": { input: 3, output: 15, cachedInput: 0.3 },
  "claude-sonnet-5": { input: 2, output: 10, cachedInput: 0.2 },
};
