// List prices in USD per million tokens, for models the catalog does not
// price (a catalog entry's own prices win), from each provider's descriptor.
// A name is priced by its exact id in the serving provider's list. A dated or
// versioned name the list does not have (`-2024-08-06`, `-20241022`, `-0613`,
// `-001`, `-latest`, `@20240620`, Bedrock's `-v1:0`) is priced as the dearest
// entry of its family — the same name without its version — so an unknown
// snapshot never costs less than a known one. A Bedrock inference profile the
// list does not name (`apac.`, `ca.`, any `<label>.` ahead of `vendor.model`)
// is priced as the model itself, its id without the profile: AWS bills a
// cross-region profile at the source region's price, which is the base
// model's almost everywhere (a model listed only by region: its dearest
// region). Any other name is unpriced: never a cheaper
// sibling by prefix (`gpt-5-pro` is not `gpt-5`).
import { PROVIDERS } from "../providers/index.ts";

/** Token rates, in USD per million tokens. */
export interface Rates {
  input: number;
  output: number;
  /** Prompt tokens read from the provider's cache; the input rate when absent. */
  cachedInput?: number;
  /** Prompt tokens written to the cache for five minutes; 1.25 times the input rate when absent (Anthropic's). */
  cacheWrite?: number;
  /** Prompt tokens written to the cache for an hour; twice the input rate when absent. */
  cacheWrite1h?: number;
}

/** Prices of the media APIs, in USD. */
export interface MediaRates {
  /** Per second of audio transcribed or translated, when the answer reports a duration rather than tokens. */
  audioSecond?: number;
  /** Per million characters of text spoken. */
  characters?: number;
  /** Per image, by `quality/size` (`standard/1024x1024`). */
  image?: Readonly<Record<string, number>>;
  /** Per million audio tokens in and out (a realtime session's), priced apart from its text tokens. */
  audioTokens?: { input: number; output: number };
  /** Per million image input tokens (an image to edit), where they cost more than the model's text input. */
  imageInput?: number;
}

/** What a media call used, as its record keeps it. */
export interface MediaUsage {
  audioSeconds?: number;
  characters?: number;
  images?: { count: number; size: string; quality: string };
  /** Audio tokens heard and spoken (a realtime session): its text tokens are its record's own. */
  audioTokens?: { input: number; output: number };
  /** Of the record's prompt tokens, those that were images (gpt-image-1's input images). */
  imageInputTokens?: number;
}

export interface Price extends Rates {
  /** Long-context pricing: past `above` prompt tokens, the whole request costs these rates. */
  long?: Rates & { above: number };
  /** Rates for what is not counted in tokens (audio heard, text spoken, images drawn). */
  media?: MediaRates;
}

/** What a cache write costs over plain input, where the list gives no rate: Anthropic's multipliers. */
export const CACHE_WRITE_FACTOR = 1.25;
export const CACHE_WRITE_1H_FACTOR = 2;

export type PriceList = Readonly<Record<string, Price>>;

/** One version suffix, taken off the end of a name; several may stack (`-20240620-v1:0`). */
const VERSION_SUFFIX = /(?:-\d{4}-\d{2}-\d{2}|-\d{8}|@\d{8}|-\d{2}-\d{2,4}|-\d{3,4}|-latest|-v\d+(?::\d+)?|:\d+)$/;

/** A name without its version suffixes: the family it belongs to. */
export function familyOf(name: string): string {
  let family = name;
  for (let next = family.replace(VERSION_SUFFIX, ""); next !== family && next.length > 0; ) {
    family = next;
    next = family.replace(VERSION_SUFFIX, "");
  }
  return family;
}

const dearer = (a: Price, b: Price) => (b.output > a.output || (b.output === a.output && b.input > a.input) ? b : a);

/** Bedrock's region names a list knows (`us.`, `eu.`, `global.`…), kept apart when families are drawn. */
const REGION_PROFILE = /^(?:us|eu|apac|global|jp|au|ca|us-gov)\./;
/** Any inference profile ahead of a `vendor.model` id, known region or not (`xx.anthropic.claude-…`). */
const ANY_PROFILE = /^[a-z]+(?:-[a-z]+)*\.(?=[^.]+\.)/;

interface Table {
  exact: Map<string, Price>;
  /** Per family, its dearest entry. */
  families: Map<string, Price>;
  /** Per family, region profile aside, its dearest entry in any region: an unknown snapshot of a model listed only by region. */
  regions: Map<string, Price>;
  /** Entries ending in `-` price every name they begin (the mock's models). */
  prefixes: [string, Price][];
}

function keepDearest(map: Map<string, Price>, key: string, price: Price): void {
  const known = map.get(key);
  map.set(key, known ? dearer(known, price) : price);
}

function tableOf(list: PriceList): Table {
  const table: Table = { exact: new Map(), families: new Map(), regions: new Map(), prefixes: [] };
  for (const [name, price] of Object.entries(list)) {
    if (name.endsWith("-")) {
      table.prefixes.push([name, price]);
      continue;
    }
    table.exact.set(name, price);
    keepDearest(table.families, familyOf(name), price);
    keepDearest(table.regions, familyOf(name.replace(REGION_PROFILE, "")), price);
  }
  return table;
}

function lookup(table: Table, name: string): Price | undefined {
  const exact = table.exact.get(name);
  if (exact) return exact;
  const family = familyOf(name);
  // Only a name that carried a version reaches its family: `gpt-4o-2030-01-01`, never `gpt-4o-turbo`.
  if (family !== name) {
    const priced = table.families.get(family) ?? (ANY_PROFILE.test(name) ? undefined : table.regions.get(family));
    if (priced) return priced;
  }
  // A profile the list does not name for this model: the model's own price, its id without the profile;
  // for a model the list prices only by region, the dearest of those, never nothing.
  const base = name.replace(ANY_PROFILE, "");
  if (base !== name) {
    const priced = lookup(table, base) ?? table.regions.get(familyOf(base));
    if (priced) return priced;
  }
  return table.prefixes.find(([prefix]) => name.startsWith(prefix))?.[1];
}

const TABLES = new Map(PROVIDERS.map((provider) => [provider.kind as string, tableOf(provider.prices ?? {})]));

/** The lists that price a provider's models: its own, then those it borrows (Vertex AI: Google's and Anthropic's). */
const LISTS = new Map(
  PROVIDERS.map((provider) => [
    provider.kind as string,
    [provider.kind, ...(provider.pricedLike ?? [])].flatMap((kind) => TABLES.get(kind) ?? []),
  ]),
);

/**
 * A model's list price at the provider (kind) that serves it; undefined when
 * its lists do not have it. Callers with a budget or USD quota are refused an
 * unpriced model (limits/binding.ts) unless the catalog prices it.
 */
export function priceOf(model: string, provider: string): Price | undefined {
  for (const table of LISTS.get(provider) ?? []) {
    const price = lookup(table, model);
    if (price) return price;
  }
  return undefined;
}

/** Names with a known price, per provider kind, for model listings. */
export function pricedModels(provider: string): string[] {
  return [...(TABLES.get(provider)?.exact.keys() ?? [])];
}

/** Paid built-in tools a provider ran for a call (OpenAI's web search…), by tool: calls, or containers for `code_interpreter`. */
export type ToolCalls = Readonly<Record<string, number>>;
/** USD per call (per container for `code_interpreter`), by tool. */
export type ToolFees = Readonly<Record<string, number>>;

export interface TokenCounts {
  promptTokens: number;
  completionTokens: number;
  /** Of the prompt, tokens read from the provider's cache. */
  cachedTokens: number;
  /** Of the prompt, tokens written to the provider's cache (Anthropic, Bedrock); none when absent. */
  cacheWriteTokens?: number;
  /** Of those, the ones written for an hour rather than five minutes. */
  cacheWrite1hTokens?: number;
  /** Paid built-in tools the provider ran, as counted from its answer. */
  toolCalls?: ToolCalls;
}

/** What the tokens cost; built-in tools are priced apart (toolCost). */
export function costOf(price: Price | undefined, tokens: TokenCounts): number {
  if (!price) return 0;
  const rates: Rates = price.long && tokens.promptTokens > price.long.above ? price.long : price;
  const written = tokens.cacheWriteTokens ?? 0;
  const writtenForAnHour = Math.min(written, tokens.cacheWrite1hTokens ?? 0);
  const uncached = Math.max(0, tokens.promptTokens - tokens.cachedTokens - written);
  const input =
    uncached * rates.input +
    tokens.cachedTokens * (rates.cachedInput ?? rates.input) +
    (written - writtenForAnHour) * (rates.cacheWrite ?? rates.input * CACHE_WRITE_FACTOR) +
    writtenForAnHour * (rates.cacheWrite1h ?? rates.input * CACHE_WRITE_1H_FACTOR);
  return (input + tokens.completionTokens * rates.output) / 1_000_000;
}

/** The fees for the built-in tools a call ran, and the tools among them with no known fee. */
export function toolCost(fees: ToolFees | undefined, calls: ToolCalls | undefined): { usd: number; unpriced: string[] } {
  let usd = 0;
  const unpriced: string[] = [];
  for (const [tool, count] of Object.entries(calls ?? {})) {
    const fee = fees?.[tool];
    if (fee === undefined) unpriced.push(tool);
    else usd += fee * count;
  }
  return { usd, unpriced };
}

const FEES = new Map(PROVIDERS.map((provider) => [provider.kind as string, provider.toolFees]));

/** What a provider (kind) charges per call of its built-in tools for a model; undefined when it runs none. */
export const toolFeesOf = (model: string, provider: string): ToolFees | undefined => FEES.get(provider)?.(model);
/**
 * The price of one image: its quality and size as listed; a size or quality
 * the list does not have (`auto`, or none said) costs the dearest it could
 * be, so an unknown never bills less than a known one.
 */
export function imagePrice(rates: Readonly<Record<string, number>>, quality: string, size: string): number {
  const exact = rates[`${quality}/${size}`];
  if (exact !== undefined) return exact;
  const entries = Object.entries(rates);
  const sameQuality = entries.filter(([key]) => key.startsWith(`${quality}/`));
  const sameSize = entries.filter(([key]) => key.endsWith(`/${size}`));
  const pool = sameQuality.length > 0 ? sameQuality : sameSize.length > 0 ? sameSize : entries;
  return Math.max(0, ...pool.map(([, usd]) => usd));
}

/** The cost of what a media call used, beyond its tokens. */
export function mediaCostOf(price: Price | undefined, usage: MediaUsage | undefined): number {
  const rates = price?.media;
  if (!rates || !usage) return 0;
  let usd = 0;
  if (usage.audioSeconds !== undefined) usd += usage.audioSeconds * (rates.audioSecond ?? 0);
  if (usage.characters !== undefined) usd += (usage.characters * (rates.characters ?? 0)) / 1_000_000;
  if (usage.images && rates.image) usd += usage.images.count * imagePrice(rates.image, usage.images.quality, usage.images.size);
  if (usage.audioTokens && rates.audioTokens) {
    usd += (usage.audioTokens.input * rates.audioTokens.input + usage.audioTokens.output * rates.audioTokens.output) / 1_000_000;
  }
  // Image input tokens are among the prompt tokens, priced there at the text rate: what they cost over it.
  if (usage.imageInputTokens && rates.imageInput !== undefined && price) {
    usd += (usage.imageInputTokens * Math.max(0, rates.imageInput - price.input)) / 1_000_000;
  }
  return usd;
}
