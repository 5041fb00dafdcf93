// The model catalog through the admin API: providers and models. Every
// change drops this isolate's copy; other isolates re-read within CATALOG_REFRESH.
import { asc, eq } from "drizzle-orm";
import { models, providers } from "../db/schema.ts";
import { badRequest, GatewayError } from "../http/errors.ts";
import { PROVIDER_KINDS } from "../providers/index.ts";
import { jurisdictionOf, regionFromUrl } from "../providers/regions.ts";
import { forgetCatalog } from "../routing/catalog.ts";
import type { Services } from "../services.ts";
import type { ModelInput, ProviderInput } from "./schemas.ts";

type ProviderRow = typeof providers.$inferSelect;
type ModelRow = typeof models.$inferSelect;

/** Where the deployment runs: what its base URL's host says, else the region its operator set. */
const regionOfRow = (row: Pick<ProviderRow, "baseUrl" | "region">) =>
  (row.baseUrl ? regionFromUrl(row.baseUrl) : undefined) ?? row.region ?? undefined;

/** A region set against a base URL whose host names another would let data controls believe the wrong one. */
function checkRegion(row: Pick<ProviderRow, "baseUrl" | "region">): void {
  const named = row.baseUrl ? regionFromUrl(row.baseUrl) : undefined;
  if (row.region && named && named !== row.region) {
    throw badRequest(`Invalid \`region\`: the base URL's host is in \`${named}\`, not \`${row.region}\`.`, "region");
  }
}

export function providerView(row: ProviderRow) {
  const region = regionOfRow(row);
  return {
    id: row.id,
    kind: row.kind,
    base_url: row.baseUrl,
    api_version: row.apiVersion,
    region: row.region,
    /** Where data controls place it (`eu`, `us`, `global`…); null: unknown, so no caller pinned to regions reaches it. */
    jurisdiction: (region && jurisdictionOf(region)) ?? null,
    enabled: row.enabled,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

export function modelView(row: ModelRow) {
  return {
    id: row.id,
    provider: row.providerId,
    upstream_id: row.upstreamId,
    input_usd_per_mtok: row.inputUsdPerMtok,
    output_usd_per_mtok: row.outputUsdPerMtok,
    cached_input_usd_per_mtok: row.cachedInputUsdPerMtok,
    cache_write_usd_per_mtok: row.cacheWriteUsdPerMtok,
    context_window: row.contextWindow,
    max_output_tokens: row.maxOutputTokens,
    fallbacks: row.fallbacks,
    cache_ttl: row.cacheTtlSeconds,
    enabled: row.enabled,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

const notFound = (what: string, id: string) =>
  new GatewayError(404, "not_found", `No ${what} \`${id}\`.`, { code: `${what}_not_found` });

export async function listProviders(services: Services) {
  return (await services.db.select().from(providers).orderBy(asc(providers.id))).map(providerView);
}

export async function getProvider(services: Services, id: string) {
  const [row] = await services.db.select().from(providers).where(eq(providers.id, id));
  if (!row) throw notFound("provider", id);
  return providerView(row);
}

export async function createProvider(services: Services, input: ProviderInput) {
  if (!input.id) throw badRequest("Invalid `id`: a provider needs an id.", "id");
  if (!input.kind) throw badRequest(`Invalid \`kind\`: one of ${PROVIDER_KINDS.join(", ")}.`, "kind");
  checkRegion({ baseUrl: input.base_url ?? null, region: input.region ?? null });
  const [row] = await services.db
    .insert(providers)
    .values({
      id: input.id,
      kind: input.kind,
      baseUrl: input.base_url ?? null,
      apiVersion: input.api_version ?? null,
      region: input.region ?? null,
      enabled: input.enabled ?? true,
    })
    .onConflictDoNothing()
    .returning();
  if (!row) throw new GatewayError(409, "invalid_request", `Provider \`${input.id}\` exists.`, { code: "provider_exists" });
  forgetCatalog(services);
  return providerView(row);
}

export async function updateProvider(services: Services, id: string, input: ProviderInput) {
  if (input.region !== undefined || input.base_url !== undefined) {
    const [stored] = await services.db.select().from(providers).where(eq(providers.id, id));
    if (!stored) throw notFound("provider", id);
    checkRegion({
      baseUrl: input.base_url === undefined ? stored.baseUrl : input.base_url,
      region: input.region === undefined ? stored.region : input.region,
    });
  }
  const [row] = await services.db
    .update(providers)
    .set({
      ...(input.kind !== undefined && { kind: input.kind }),
      ...(input.base_url !== undefined && { baseUrl: input.base_url }),
      ...(input.api_version !== undefined && { apiVersion: input.api_version }),
      ...(input.region !== undefined && { region: input.region }),
      ...(input.enabled !== undefined && { enabled: input.enabled }),
      updatedAt: new Date(),
    })
    .where(eq(providers.id, id))
    .returning();
  if (!row) throw notFound("provider", id);
  forgetCatalog(services);
  return providerView(row);
}

/** Deletes a provider and, with it, its models. */
export async function deleteProvider(services: Services, id: string) {
  const [row] = await services.db.delete(providers).where(eq(providers.id, id)).returning();
  if (!row) throw notFound("provider", id);
  forgetCatalog(services);
  return { id, deleted: true };
}

export async function listModels(services: Services) {
  return (await services.db.select().from(models).orderBy(asc(models.id))).map(modelView);
}

export async function getModel(services: Services, id: string) {
  const [row] = await services.db.select().from(models).where(eq(models.id, id));
  if (!row) throw notFound("model", id);
  return modelView(row);
}

async function assertProviderExists(services: Services, id: string): Promise<void> {
  const [row] = await services.db.select({ id: providers.id }).from(providers).where(eq(providers.id, id));
  if (!row) throw badRequest(`Invalid \`provider\`: no provider \`${id}\`; create it under /admin/providers first.`, "provider");
}

export async function createModel(services: Services, input: ModelInput) {
  if (!input.id) throw badRequest("Invalid `id`: a model needs the public name clients send.", "id");
  if (!input.provider) throw badRequest("Invalid `provider`: a model needs the id of the provider that serves it.", "provider");
  await assertProviderExists(services, input.provider);
  const [row] = await services.db
    .insert(models)
    .values({
      id: input.id,
      providerId: input.provider,
      upstreamId: input.upstream_id ?? input.id,
      inputUsdPerMtok: input.input_usd_per_mtok ?? 0,
      outputUsdPerMtok: input.output_usd_per_mtok ?? 0,
      cachedInputUsdPerMtok: input.cached_input_usd_per_mtok ?? null,
      cacheWriteUsdPerMtok: input.cache_write_usd_per_mtok ?? null,
      contextWindow: input.context_window ?? null,
      maxOutputTokens: input.max_output_tokens ?? null,
      fallbacks: input.fallbacks ?? [],
      cacheTtlSeconds: input.cache_ttl || null,
      enabled: input.enabled ?? true,
    })
    .onConflictDoNothing()
    .returning();
  if (!row) throw new GatewayError(409, "invalid_request", `Model \`${input.id}\` exists.`, { code: "model_exists" });
  forgetCatalog(services);
  return modelView(row);
}

export async function updateModel(services: Services, id: string, input: ModelInput) {
  if (input.provider) await assertProviderExists(services, input.provider);
  const [row] = await services.db
    .update(models)
    .set({
      ...(input.provider !== undefined && { providerId: input.provider }),
      ...(input.upstream_id !== undefined && { upstreamId: input.upstream_id }),
      ...(input.input_usd_per_mtok !== undefined && { inputUsdPerMtok: input.input_usd_per_mtok }),
      ...(input.output_usd_per_mtok !== undefined && { outputUsdPerMtok: input.output_usd_per_mtok }),
      ...(input.cached_input_usd_per_mtok !== undefined && { cachedInputUsdPerMtok: input.cached_input_usd_per_mtok }),
      ...(input.cache_write_usd_per_mtok !== undefined && { cacheWriteUsdPerMtok: input.cache_write_usd_per_mtok }),
      ...(input.context_window !== undefined && { contextWindow: input.context_window }),
      ...(input.max_output_tokens !== undefined && { maxOutputTokens: input.max_output_tokens }),
      ...(input.fallbacks !== undefined && { fallbacks: input.fallbacks }),
      ...(input.cache_ttl !== undefined && { cacheTtlSeconds: input.cache_ttl || null }),
      ...(input.enabled !== undefined && { enabled: input.enabled }),
      updatedAt: new Date(),
    })
    .where(eq(models.id, id))
    .returning();
  if (!row) throw notFound("model", id);
  forgetCatalog(services);
  return modelView(row);
}

export async function deleteModel(services: Services, id: string) {
  const [row] = await services.db.delete(models).where(eq(models.id, id)).returning();
  if (!row) throw notFound("model", id);
  forgetCatalog(services);
  return { id, deleted: true };
}
