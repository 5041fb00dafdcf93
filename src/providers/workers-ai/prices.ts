// Workers AI: list prices in USD per million tokens, by exact model id. It
// bills in neurons ($0.011 per 1,000); these are the per-token equivalents
// its pricing page (developers.cloudflare.com/workers-ai/platform/pricing/)
// lists. Checked 2026-12-04 against that page as published from 2025-02 on;
// bge-m3 is not on the versions checked and keeps its earlier figure.
// usage/prices.ts says how versions find theirs.
import type { PriceList } from "../../usage/prices.ts";

export const WORKERS_AI_PRICES: PriceList = {
  "@cf/meta/llama-3.2-1b-instruct": { input: 0.027, output: 0.201 },
  "@cf/meta/llama-3.2-3b-instruct": { input: 0.051, output: 0.335 },
  "@cf/meta/llama-3.1-8b-instruct": { input: 0.282, output: 0.827 },
  "@cf/meta/llama-3.1-8b-instruct-fp8": { input: 0.152, output: 0.287 },
  "@cf/meta/llama-3.1-8b-instruct-awq": { input: 0.123, output: 0.266 },
  "@cf/meta/llama-3.1-8b-instruct-fp8-fast": { input: 0.045, output: 0.384 },
  "@cf/meta/llama-3.1-70b-instruct-fp8-fast": { input: 0.293, output: 2.253 },
  "@cf/meta/llama-3.3-70b-instruct-fp8-fast": { input: 0.293, output: 2.253 },
  "@cf/baai/bge-small-en-v1.5": { input: 0.02, output: 0 },
  "@cf/baai/bge-base-en-v1.5": { input: 0.067, output: 0 },
  "@cf/baai/bge-large-en-v1.5": { input: 0.204, output: 0 },
  "@cf/baai/bge-m3": { input: 0.012, output: 0 },
};
