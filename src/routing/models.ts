// The models this gateway can serve with its current configuration and catalog.
import type { GatewayContext } from "../context.ts";
import { PROVIDERS } from "../providers/index.ts";
import { pricedModels } from "../usage/prices.ts";
import { catalogFor } from "./catalog.ts";
import { resolveTarget } from "./resolve.ts";

export interface ListedModel {
  id: string;
  provider: string;
  contextWindow: number | null;
}

export async function listModels(c: GatewayContext): Promise<ListedModel[]> {
  const config = c.get("config");
  const catalog = await catalogFor(c);
  const listed = PROVIDERS.flatMap((provider) =>
    config.providers[provider.kind] ? [...(provider.listed ?? []), ...pricedModels(provider.kind)] : [],
  );
  const names = new Set([...catalog.models.keys(), ...listed]);
  const models: ListedModel[] = [];
  for (const id of [...names].sort()) {
    try {
      const target = resolveTarget(config, catalog, id);
      // Listed when the gateway holds a credential for it (callers' own keys can reach more).
      if (target.credentials.length === 0) continue;
      models.push({ id, provider: target.provider, contextWindow: catalog.models.get(id)?.contextWindow ?? null });
    } catch {
      // Its provider is not served here.
    }
  }
  return models;
}
