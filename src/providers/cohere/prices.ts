// Cohere: list prices in USD per million tokens, by exact model id, as
// published in late 2026. Rerank is billed per search (a query with up to
// 100 documents), as the `search_units` fee in `index.ts`; its models are
// listed here at no token cost so they count as priced.
import type { PriceList } from "../../usage/prices.ts";

export const COHERE_PRICES: PriceList = {
  "command-a-03-2025": { input: 2.5, output: 10 },
  "command-a-reasoning-08-2025": { input: 2.5, output: 10 },
  "command-a-vision-07-2025": { input: 2.5, output: 10 },
  "command-a-translate-08-2025": { input: 2.5, output: 10 },
  "command-r-plus-08-2024": { input: 2.5, output: 10 },
  "command-r-plus-04-2024": { input: 3, output: 15 },
  "command-r-plus": { input: 3, output: 15 },
  "command-r-08-2024": { input: 0.15, output: 0.6 },
  "command-r-03-2024": { input: 0.5, output: 1.5 },
  "command-r": { input: 0.5, output: 1.5 },
  "command-r7b-12-2024": { input: 0.0375, output: 0.15 },
  "command-r7b-arabic-02-2025": { input: 0.0375, output: 0.15 },
  "embed-v4.0": { input: 0.12, output: 0 },
  "embed-english-v3.0": { input: 0.1, output: 0 },
  "embed-multilingual-v3.0": { input: 0.1, output: 0 },
  "embed-english-light-v3.0": { input: 0.1, output: 0 },
  "embed-multilingual-light-v3.0": { input: 0.1, output: 0 },
  "rerank-v3.5": { input: 0, output: 0 },
  "rerank-english-v3.0": { input: 0, output: 0 },
  "rerank-multilingual-v3.0": { input: 0, output: 0 },
};

/** USD per search unit (a query against up to 100 documents): $2 per 1,000. */
export const RERANK_SEARCH_FEE = 0.002;
