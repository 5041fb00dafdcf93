// Which provider serves a model: an explicit override, a `provider/model`
// name, the name's prefix, or the configured default provider.
import type { Config, ProviderName, ProviderSettings } from "../config/index.ts";
import { GatewayError, modelNotFound } from "../http/errors.ts";
import { adapterFor } from "../providers/index.ts";
import type { ProviderAdapter } from "../providers/types.ts";

export interface Target {
  provider: ProviderName;
  adapter: ProviderAdapter;
  settings: ProviderSettings;
  /** The name the client asked for. */
  model: string;
  /** The name the provider knows it by. */
  upstreamModel: string;
}

const PROVIDER_NAMES: readonly ProviderName[] = ["openai", "anthropic", "gemini", "mistral", "mock"];

const PREFIX_RULES: [RegExp, ProviderName][] = [
  [/^(gpt-|o1|o3|o4|chatgpt-|text-embedding-)/, "openai"],
  [/^claude-/, "anthropic"],
  [/^gemini-/, "gemini"],
  [/^(mistral-|codestral-|ministral-|magistral-|open-mistral-|pixtral-)/, "mistral"],
  [/^mock-/, "mock"],
];

const isProviderName = (value: string): value is ProviderName => (PROVIDER_NAMES as readonly string[]).includes(value);

function providerByName(config: Config, model: string): { provider: ProviderName; upstreamModel: string } | undefined {
  const slash = model.indexOf("/");
  if (slash > 0) {
    const prefix = model.slice(0, slash);
    if (isProviderName(prefix)) return { provider: prefix, upstreamModel: model.slice(slash + 1) };
  }
  const rule = PREFIX_RULES.find(([pattern]) => pattern.test(model));
  if (rule) return { provider: rule[1], upstreamModel: model };
  if (config.defaultProvider && isProviderName(config.defaultProvider)) {
    return { provider: config.defaultProvider, upstreamModel: model };
  }
  return undefined;
}

export function resolveTarget(config: Config, model: string, providerOverride?: string): Target {
  let choice: { provider: ProviderName; upstreamModel: string } | undefined;
  if (providerOverride) {
    if (!isProviderName(providerOverride)) {
      throw new GatewayError(400, "invalid_request", `Unknown provider \`${providerOverride}\`.`, { param: "provider" });
    }
    choice = { provider: providerOverride, upstreamModel: model };
  } else {
    choice = providerByName(config, model);
  }
  if (!choice) throw modelNotFound(model);
  const settings = config.providers[choice.provider];
  const adapter = adapterFor(choice.provider);
  if (!settings || !adapter) {
    throw new GatewayError(
      404,
      "not_found",
      `The model \`${model}\` needs provider \`${choice.provider}\`, which is not configured here.`,
      {
        code: "model_not_found",
        param: "model",
      },
    );
  }
  return { ...choice, adapter, settings, model };
}

/** Providers that can serve requests with this config. */
export function configuredProviders(config: Config): ProviderName[] {
  return PROVIDER_NAMES.filter((name) => config.providers[name] && adapterFor(name));
}
