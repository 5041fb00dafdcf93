// Which provider serves a model, and what to try after it. The catalog comes
// first: a listed model names its provider, upstream id, price and fallback
// chain. Unlisted names go by an explicit `provider/model`, the name's
// prefix, or the configured default provider.
import type { Config } from "../config/index.ts";
import { type Credential, envCredential, storedCredential } from "../credentials/pool.ts";
import { GatewayError, modelNotFound } from "../http/errors.ts";
import { PROVIDERS, providerOf } from "../providers/index.ts";
import type { ProviderDescriptor, ProviderSettings } from "../providers/types.ts";
import { type Price, priceOf, type ToolFees, toolFeesOf } from "../usage/prices.ts";
import type { Catalog } from "./catalog.ts";

export interface Target {
  /** The provider's id: a catalog provider, or a built-in one (`openai`, `anthropic`…). */
  provider: string;
  /** What kind of provider it is: where and how requests are sent. */
  descriptor: ProviderDescriptor;
  /** Where to send and the API version; the key comes from the credential picked for each attempt. */
  settings: ProviderSettings;
  /** The public model name. */
  model: string;
  /** The name the provider knows it by. */
  upstreamModel: string;
  price: Price | undefined;
  /** What the provider charges per built-in tool call for the model (OpenAI's web search…); undefined when it runs none. */
  toolFees: ToolFees | undefined;
  /** The gateway's own credentials for this provider; a caller's own keys replace them. */
  credentials: Credential[];
}

/** Providers a request can name without a catalog entry: those the environment (a variable, a binding) can configure. */
const BUILT_IN = new Set<string>(PROVIDERS.filter((p) => p.env || p.binding).map((p) => p.kind));
const isBuiltIn = (value: string) => BUILT_IN.has(value);

function knownProvider(catalog: Catalog, id: string): boolean {
  return catalog.providers.has(id) || isBuiltIn(id);
}

interface Choice {
  provider: string;
  upstreamModel: string;
  price?: Price;
}

function choose(
  config: Config,
  catalog: Catalog,
  model: string,
  providerOverride?: string,
  providerParam = "provider",
): Choice | undefined {
  const listed = catalog.models.get(model);
  if (providerOverride) {
    if (!knownProvider(catalog, providerOverride)) {
      throw new GatewayError(400, "invalid_request", `Unknown provider \`${providerOverride}\`.`, { param: providerParam });
    }
    return listed?.providerId === providerOverride
      ? { provider: providerOverride, upstreamModel: listed.upstreamId, price: listed.price }
      : { provider: providerOverride, upstreamModel: model };
  }
  if (listed) return { provider: listed.providerId, upstreamModel: listed.upstreamId, price: listed.price };
  const slash = model.indexOf("/");
  if (slash > 0 && knownProvider(catalog, model.slice(0, slash))) {
    return { provider: model.slice(0, slash), upstreamModel: model.slice(slash + 1) };
  }
  const byName = PROVIDERS.find((p) => p.models?.test(model));
  if (byName) return { provider: byName.kind, upstreamModel: model };
  if (config.defaultProvider && knownProvider(catalog, config.defaultProvider)) {
    return { provider: config.defaultProvider, upstreamModel: model };
  }
  return undefined;
}

/** A provider's descriptor, endpoint and global credentials; undefined when Sluice has none for its kind. */
function providerSetup(
  config: Config,
  catalog: Catalog,
  providerId: string,
): Pick<Target, "descriptor" | "settings" | "credentials"> | undefined {
  const row = catalog.providers.get(providerId);
  const descriptor = providerOf(row?.kind ?? (isBuiltIn(providerId) ? providerId : ""));
  if (!descriptor) return undefined;
  const fromEnv = isBuiltIn(providerId) ? config.providers[providerId] : undefined;
  const baseUrl = row?.baseUrl ?? fromEnv?.baseUrl ?? descriptor.defaultBaseUrl ?? "";
  if (!baseUrl && !descriptor.baseUrlFromCredential) return undefined;
  const stored = (catalog.credentials.get(providerId) ?? []).map((c) => storedCredential(c, config.encryption));
  // A Worker secret, or no key at all for a provider the operator pointed at a server of their own;
  // never for providers whose credential has several parts (Bedrock, Vertex AI), which cannot go without.
  const keyless = !fromEnv && row?.baseUrl && stored.length === 0 && !descriptor.credential;
  const fromWorker = fromEnv && (fromEnv.secret || !descriptor.credential);
  const credentials = [...(fromWorker || keyless ? [envCredential(providerId, fromEnv?.secret)] : []), ...stored];
  const region = row?.region ?? fromEnv?.region;
  const settings = { baseUrl, apiVersion: row?.apiVersion ?? fromEnv?.apiVersion, ...(region && { region }) };
  return { descriptor, settings, credentials };
}

/** The target for one model name; throws 404 for a name nothing serves. */
export function resolveTarget(
  config: Config,
  catalog: Catalog,
  model: string,
  providerOverride?: string,
  providerParam?: string,
): Target {
  const choice = choose(config, catalog, model, providerOverride, providerParam);
  if (!choice) throw modelNotFound(model);
  const setup = providerSetup(config, catalog, choice.provider);
  if (!setup) throw modelNotFound(model);
  return {
    ...setup,
    provider: choice.provider,
    model,
    upstreamModel: choice.upstreamModel,
    // The deployment's price: the catalog's, or the serving provider's list price for the model.
    price: choice.price ?? priceOf(choice.upstreamModel, setup.descriptor.kind),
    toolFees: toolFeesOf(choice.upstreamModel, setup.descriptor.kind),
  };
}

/**
 * The model's target, then its catalog fallbacks in order, each a model the
 * caller may use. An explicit provider pins the call to that one target.
 */
export function planRoute(input: {
  config: Config;
  catalog: Catalog;
  model: string;
  providerOverride?: string;
  /** Where the caller named the provider, for the refusal of one that does not exist. */
  providerParam?: string;
  /** Tried after the model's own fallbacks (a route's). */
  fallbacks?: string[];
}): Target[] {
  const { config, catalog, model, providerOverride } = input;
  const first = resolveTarget(config, catalog, model, providerOverride, input.providerParam);
  if (providerOverride) return [first];
  const plan = [first];
  const chain = [...(catalog.models.get(model)?.fallbacks ?? []), ...(input.fallbacks ?? [])];
  for (const [i, fallback] of chain.entries()) {
    if (fallback === model || chain.indexOf(fallback) < i) continue;
    try {
      plan.push(resolveTarget(config, catalog, fallback));
    } catch {
      // A fallback nothing serves is left out of the chain, not an error for the caller.
    }
  }
  return plan;
}

/** The provider a model routes to by itself (the caller's pick aside); undefined when nothing serves it so. */
export function naturalProvider(config: Config, catalog: Catalog, model: string, override: string | undefined, first: Target) {
  if (!override) return first.provider;
  return choose(config, catalog, model, undefined)?.provider;
}

/** Providers that can serve requests with this config and catalog. */
export function configuredProviders(config: Config, catalog: Catalog): string[] {
  const ids = new Set([...BUILT_IN, ...catalog.providers.keys()]);
  return [...ids].filter((id) => (providerSetup(config, catalog, id)?.credentials.length ?? 0) > 0);
}
