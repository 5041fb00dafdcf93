// The models this gateway can serve with its current configuration.
import type { Config, ProviderName } from "../config/index.ts";
import { pricedModels } from "../usage/prices.ts";
import { resolveTarget } from "./resolve.ts";

const MOCK_MODELS = ["mock-echo", "mock-lorem"];

export function listModels(config: Config): { id: string; provider: ProviderName }[] {
  const names = [...(config.providers.mock ? MOCK_MODELS : []), ...pricedModels()];
  const models: { id: string; provider: ProviderName }[] = [];
  for (const id of names) {
    try {
      models.push({ id, provider: resolveTarget(config, id).provider });
    } catch {
      // Its provider is not configured here.
    }
  }
  return models;
}
