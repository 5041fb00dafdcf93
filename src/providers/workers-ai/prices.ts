// Workers AI: list prices in USD per million tokens, by exact model id, as
// Cloudflare published them in 2025 (it bills in neurons; these are its own
// per-token equivalents). usage/prices.ts says how versions find theirs.
import type { PriceList } from "../../usage/prices.ts";

export const WORKERS_AI_PRICES: PriceList = {
  "@cf/meta/llama-3.2-1b-instruct": { input: 0.027, output: 0.201 },
  "@cf/meta/llama-3.2-3b-instruct": { input: 0.051, output: 0.335 },
  "@cf/meta/llama-3.1-8b-instruct": { input: 0.282, output: 0.827 },
  "@cf/meta/llama-3.1-8b-instruct-fp8-fast": { input: 0.045, output: 0.384 },
  "@cf/meta/llama-3.3-70b-instruct-fp8-fast": { input: 0.293, output: 2.253 },
  "@cf/baai/bge-small-en-v1.5": { input: 0.02, output: 0 },
  "@cf/baai/bge-base-en-v1.5": { input: 0.067, output: 0 },
  "@cf/baai/bge-large-en-v1.5": { input: 0.204, output: 0 },
  "@cf/baai/bge-m3": { input: 0.012, output: 0 },
};
