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

/** Each provider's own table, for pricing a model by the deployment that serves it. */
const BY_PROVIDER = new Map(
  PROVIDERS.map((provider) => {
    const prices = new Map(Object.entries(provider.prices ?? {}));
    return [provider.kind as string, { prices, prefixes: [...prices.keys()].sort((a, b) => b.length - a.length) }];
  }),
);

/**
 * The price of a model: as the provider serving it lists it when it does,
 * else by its name in any provider's table; undefined when Sluice does not
 * know it (it is then metered at zero cost).
 */
export function priceOf(model: string, provider?: string): Price | undefined {
  const own = provider ? BY_PROVIDER.get(provider) : undefined;
  const ownPrefix = own?.prefixes.find((p) => model.startsWith(p));
  if (own && ownPrefix) return own.prices.get(ownPrefix);
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
