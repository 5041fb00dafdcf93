// List prices in USD per million tokens, for models the catalog does not
// list (a catalog entry's own prices win), from each provider's descriptor.
// Longest matching prefix wins, so dated snapshots price like their family.
import { PROVIDERS } from "../providers/index.ts";

export interface Price {
  input: number;
  output: number;
  cachedInput?: number;
}

const PRICES = new Map<string, Price>(PROVIDERS.flatMap((provider) => Object.entries(provider.prices ?? {})));
const PREFIXES = [...PRICES.keys()].sort((a, b) => b.length - a.length);

/** The price of a model, or undefined when Sluice does not know it (it is then metered at zero cost). */
export function priceOf(model: string): Price | undefined {
  const prefix = PREFIXES.find((p) => model.startsWith(p));
  return prefix ? PRICES.get(prefix) : undefined;
}

/** Names with a known price, for model listings. */
export function pricedModels(): string[] {
  return PREFIXES.filter((p) => !p.endsWith("-")).sort();
}

export interface TokenCounts {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
}

export function costOf(price: Price | undefined, tokens: TokenCounts): number {
  if (!price) return 0;
  const uncached = Math.max(0, tokens.promptTokens - tokens.cachedTokens);
  const cached = tokens.cachedTokens * (price.cachedInput ?? price.input);
  return (uncached * price.input + cached + tokens.completionTokens * price.output) / 1_000_000;
}
