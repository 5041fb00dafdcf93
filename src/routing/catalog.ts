// The model catalog: models, providers and the global provider credentials,
// read from Postgres into the isolate and re-read in the background every
// CATALOG_REFRESH, so a change made through the admin API shows within
// seconds without costing a warm request a round trip.
import { and, eq, isNull } from "drizzle-orm";
import type { GatewayContext } from "../context.ts";
import type { Database } from "../db/client.ts";
import { guardrails, models, providerCredentials, providers, routes } from "../db/schema.ts";
import { compileGuardrail, type Guardrail } from "../guardrails/definitions.ts";
import { RefreshingCache } from "../isolate-cache.ts";
import { reason } from "../log.ts";
import type { ProviderKind } from "../providers/index.ts";
import type { Services } from "../services.ts";
import type { Price } from "../usage/prices.ts";
import { providerSpendThisMonth, watchedProviders } from "./rules/provider-spend.ts";
import { type RouteDefinition, ruleSchema } from "./rules/schema.ts";

export interface CatalogModel {
  id: string;
  providerId: string;
  upstreamId: string;
  price: Price;
  contextWindow: number | null;
  maxOutputTokens: number | null;
  fallbacks: string[];
  /** Seconds answers are cached for by default; null: not cached unless asked. */
  cacheTtlSeconds: number | null;
}

export interface CatalogProvider {
  id: string;
  kind: ProviderKind;
  baseUrl: string | null;
  apiVersion: string | null;
  /** Where the deployment runs, as its operator set it; null: what its base URL says, if anything. */
  region: string | null;
}

export type CredentialRow = typeof providerCredentials.$inferSelect;

export interface Catalog {
  models: Map<string, CatalogModel>;
  providers: Map<string, CatalogProvider>;
  /** Enabled global credentials by provider id. */
  credentials: Map<string, CredentialRow[]>;
  /** Enabled guardrail policies by id, their detectors built. */
  guardrails: Map<string, Guardrail>;
  /** Enabled routes by name: empty unless an admin made one, and then a lookup by the model asked for. */
  routes: Map<string, RouteDefinition>;
  /** This month's USD per provider a route's `provider_spend` node watches; empty when none does. */
  providerSpend: Map<string, number>;
}

export const EMPTY_CATALOG: Catalog = {
  models: new Map(),
  providers: new Map(),
  credentials: new Map(),
  guardrails: new Map(),
  routes: new Map(),
  providerSpend: new Map(),
};

export async function loadCatalog(db: Database): Promise<Catalog> {
  const [modelRows, providerRows, credentialRows, guardrailRows, routeRows] = await db.batch([
    db.select().from(models).where(eq(models.enabled, true)),
    db.select().from(providers).where(eq(providers.enabled, true)),
    db
      .select()
      .from(providerCredentials)
      .where(and(eq(providerCredentials.ownerType, "global"), isNull(providerCredentials.disabledAt))),
    db.select().from(guardrails).where(eq(guardrails.enabled, true)),
    db.select().from(routes).where(eq(routes.enabled, true)),
  ]);
  const catalog: Catalog = {
    models: new Map(),
    providers: new Map(),
    credentials: new Map(),
    guardrails: new Map(),
    routes: new Map(),
    providerSpend: new Map(),
  };
  for (const row of providerRows) {
    catalog.providers.set(row.id, {
      id: row.id,
      kind: row.kind as ProviderKind,
      baseUrl: row.baseUrl?.replace(/\/+$/, "") ?? null,
      apiVersion: row.apiVersion,
      region: row.region,
    });
  }
  for (const row of modelRows) {
    if (!catalog.providers.has(row.providerId)) continue;
    catalog.models.set(row.id, {
      id: row.id,
      providerId: row.providerId,
      upstreamId: row.upstreamId,
      price: {
        input: row.inputUsdPerMtok,
        output: row.outputUsdPerMtok,
        ...(row.cachedInputUsdPerMtok !== null && { cachedInput: row.cachedInputUsdPerMtok }),
        ...(row.cacheWriteUsdPerMtok !== null && { cacheWrite: row.cacheWriteUsdPerMtok }),
      },
      contextWindow: row.contextWindow,
      maxOutputTokens: row.maxOutputTokens,
      fallbacks: row.fallbacks,
      cacheTtlSeconds: row.cacheTtlSeconds,
    });
  }
  for (const row of guardrailRows) {
    const guardrail = compileGuardrail(row);
    if (guardrail) catalog.guardrails.set(row.id, guardrail);
    else console.warn(`sluice: guardrail \`${row.id}\` has options this version cannot read; it is not applied`);
  }
  for (const row of credentialRows) {
    const list = catalog.credentials.get(row.providerId) ?? [];
    list.push(row);
    catalog.credentials.set(row.providerId, list);
  }
  for (const row of routeRows) {
    // Checked when saved; a row written some other way that does not parse is left out, not served half-read.
    const rule = ruleSchema.safeParse(row.rule);
    if (rule.success) catalog.routes.set(row.name, { name: row.name, rule: rule.data, fallbacks: row.fallbacks });
    else console.warn(`sluice: route \`${row.name}\` does not parse and is not served`);
  }
  const watched = new Set<string>();
  for (const route of catalog.routes.values()) watchedProviders(route.rule, watched);
  // Only a route that watches a provider's spend costs the refresh a query.
  if (watched.size > 0) catalog.providerSpend = await providerSpendThisMonth(db, watched);
  return catalog;
}

const caches = new WeakMap<Services, RefreshingCache<Catalog>>();

function cacheFor(services: Services, refreshMs: number): RefreshingCache<Catalog> {
  let cache = caches.get(services);
  if (!cache) {
    cache = new RefreshingCache<Catalog>(1, refreshMs, Math.max(10 * refreshMs, 600_000));
    caches.set(services, cache);
  }
  return cache;
}

/** The catalog as this isolate knows it; with Postgres unreachable on a first read, routing falls back to model-name rules. */
export function catalogFor(c: GatewayContext): Promise<Catalog> {
  return c.get("catalog") ?? readCatalog(c);
}

/**
 * On an isolate that holds no catalog yet, starts reading it at once, so a
 * model call's first request reads it while its caller is authenticated
 * rather than after: one Postgres round trip fewer before the upstream
 * call. The read is this request's own (`catalogFor` answers from it); no
 * promise passes from one request to another.
 */
export function prefetchCatalog(c: GatewayContext): void {
  if (cacheFor(c.get("services"), c.get("config").routing.catalogRefreshMs).has("catalog")) return;
  c.set("catalog", readCatalog(c));
}

async function readCatalog(c: GatewayContext): Promise<Catalog> {
  const services = c.get("services");
  const config = c.get("config");
  try {
    return await cacheFor(services, config.routing.catalogRefreshMs).get(
      "catalog",
      () => loadCatalog(services.db),
      (work) => c.executionCtx.waitUntil(work),
    );
  } catch (error) {
    console.warn(`sluice: the model catalog could not be read; routing by model name (${reason(error)})`);
    return EMPTY_CATALOG;
  }
}

/**
 * Guardrail ids a fresh read of this catalog did not find, and when: a
 * caller still naming a deleted policy costs a read per refresh interval,
 * not one per request. The memo keeps its own clock rather than the
 * catalog's (an isolate may serve a catalog long after it is due, while it
 * refreshes in the background), so a policy made later under such an id is
 * read within one interval wherever that id is named.
 */
const notFound = new WeakMap<Catalog, { ids: Set<string>; readAt: number }>();

/**
 * The catalog as a caller's guardrails need it: one that holds every policy
 * `ids` names. A policy made since this isolate last read the catalog (on
 * another isolate, or while this one served from its copy) is read at once
 * rather than a refresh later, so a new policy never lets a request through
 * unchecked. Synchronous while the held catalog knows every id; a read that
 * fails answers EMPTY_CATALOG, which the guardrails stage refuses.
 */
export function catalogNaming(c: GatewayContext, catalog: Catalog, ids: readonly string[]): Catalog | Promise<Catalog> {
  // An isolate that could not read the catalog at all has just tried: the stage refuses without trying again.
  if (catalog === EMPTY_CATALOG) return catalog;
  const memo = notFound.get(catalog);
  const absent = memo && Date.now() - memo.readAt < c.get("config").routing.catalogRefreshMs ? memo.ids : undefined;
  if (ids.every((id) => catalog.guardrails.has(id) || absent?.has(id))) return catalog;
  return readNow(c, ids);
}

async function readNow(c: GatewayContext, ids: readonly string[]): Promise<Catalog> {
  const services = c.get("services");
  let fresh: Catalog;
  try {
    fresh = await loadCatalog(services.db);
  } catch (error) {
    console.warn(`sluice: the model catalog could not be read for a caller's guardrails (${reason(error)})`);
    return EMPTY_CATALOG;
  }
  notFound.set(fresh, { ids: new Set(ids.filter((id) => !fresh.guardrails.has(id))), readAt: Date.now() });
  return cacheFor(services, c.get("config").routing.catalogRefreshMs).put("catalog", fresh);
}

/** Drops this isolate's copy after an admin change, so the next request reads the new catalog. */
export function forgetCatalog(services: Services): void {
  caches.get(services)?.forget("catalog");
}
