// Built-in list prices in USD per million tokens, for models the catalog
// does not list (a catalog entry's own prices win). Longest matching prefix
// wins, so dated snapshots price like their family.

export interface Price {
  input: number;
  output: number;
  cachedInput?: number;
}

const PRICES: Record<string, Price> = {
  "gpt-4o-mini": { input: 0.15, output: 0.6, cachedInput: 0.075 },
  "gpt-4o": { input: 2.5, output: 10, cachedInput: 1.25 },
  "gpt-4.1-nano": { input: 0.1, output: 0.4, cachedInput: 0.025 },
  "gpt-4.1-mini": { input: 0.4, output: 1.6, cachedInput: 0.1 },
  "gpt-4.1": { input: 2, output: 8, cachedInput: 0.5 },
  "gpt-5-nano": { input: 0.05, output: 0.4, cachedInput: 0.005 },
  "gpt-5-mini": { input: 0.25, output: 2, cachedInput: 0.025 },
  "gpt-5": { input: 1.25, output: 10, cachedInput: 0.125 },
  "o3-mini": { input: 1.1, output: 4.4, cachedInput: 0.55 },
  o3: { input: 2, output: 8, cachedInput: 0.5 },
  "o4-mini": { input: 1.1, output: 4.4, cachedInput: 0.275 },
  "claude-3-5-haiku": { input: 0.8, output: 4, cachedInput: 0.08 },
  "claude-haiku-4-5": { input: 1, output: 5, cachedInput: 0.1 },
  "claude-sonnet-4": { input: 3, output: 15, cachedInput: 0.3 },
  "claude-opus-4": { input: 15, output: 75, cachedInput: 1.5 },
  "gemini-2.0-flash": { input: 0.1, output: 0.4, cachedInput: 0.025 },
  "gemini-2.5-flash-lite": { input: 0.1, output: 0.4, cachedInput: 0.025 },
  "gemini-2.5-flash": { input: 0.3, output: 2.5, cachedInput: 0.075 },
  "gemini-2.5-pro": { input: 1.25, output: 10, cachedInput: 0.31 },
  "mistral-large": { input: 2, output: 6 },
  "mistral-small": { input: 0.1, output: 0.3 },
  codestral: { input: 0.3, output: 0.9 },
  // The mock models cost something, so metering is visible in tests.
  "mock-": { input: 1, output: 2, cachedInput: 0.5 },
};

const PREFIXES = Object.keys(PRICES).sort((a, b) => b.length - a.length);

/** The price of a model, or undefined when Sluice does not know it (it is then metered at zero cost). */
export function priceOf(model: string): Price | undefined {
  const prefix = PREFIXES.find((p) => model.startsWith(p));
  return prefix ? PRICES[prefix] : undefined;
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
