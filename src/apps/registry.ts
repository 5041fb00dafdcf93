// Apps as the gateway reads them on a request: found by id (a guest token
// names it) or by publishable key (the exchange), cached in the isolate like
// keys and users, with the global settings that apply to their guests.
import { eq, type SQL } from "drizzle-orm";
import { policiesQuery, resolvePolicies } from "../auth/policies.ts";
import { type Limits, NO_LIMITS } from "../auth/principal.ts";
import type { Database } from "../db/client.ts";
import { apps, type GuestLimitsRow } from "../db/schema.ts";
import { IsolateCache } from "../isolate-cache.ts";
import { type CallerPolicy, resolvePolicy } from "../policy/index.ts";
import { forgetAppOrigins } from "./origins.ts";

export type AppRow = typeof apps.$inferSelect;
export type AppProof = "turnstile" | "app_check";

export interface CachedApp {
  id: string;
  name: string;
  publishableKey: string;
  origins: string[];
  iosBundleIds: string[];
  androidPackages: string[];
  models: string[] | null;
  proofs: AppProof[];
  appCheck: { project: string | null; appIds: string[] };
  deviceLimits: Limits;
  ipLimits: Limits;
  appLimits: Limits;
  disabled: boolean;
  policy: CallerPolicy;
  loadedAt: number;
}

export const APP_CACHE_TTL_MS = 60_000;
const appsById = new IsolateCache<CachedApp | null>(2_000, APP_CACHE_TTL_MS);
const appsByKey = new IsolateCache<CachedApp | null>(2_000, APP_CACHE_TTL_MS);

export function guestLimits(row: GuestLimitsRow): Limits {
  return {
    ...NO_LIMITS,
    requestsPerMinute: row.rpm_limit ?? null,
    tokensPerMinute: row.tpm_limit ?? null,
    tokensPerDay: row.tokens_per_day ?? null,
    usdPerDay: row.usd_per_day ?? null,
  };
}

export function cachedApp(row: AppRow, policy: CallerPolicy, loadedAt: number): CachedApp {
  return {
    id: row.id,
    name: row.name,
    publishableKey: row.publishableKey,
    origins: row.allowedOrigins,
    iosBundleIds: row.iosBundleIds,
    androidPackages: row.androidPackages,
    models: row.models,
    proofs: row.proofs.filter((p): p is AppProof => p === "turnstile" || p === "app_check"),
    appCheck: { project: row.appCheckProject, appIds: row.appCheckAppIds },
    deviceLimits: guestLimits(row.deviceLimits),
    ipLimits: guestLimits(row.ipLimits),
    appLimits: { ...NO_LIMITS, usdPerDay: row.guestUsdPerDay },
    disabled: row.disabledAt !== null,
    policy,
    loadedAt,
  };
}

async function loadApp(db: Database, where: SQL): Promise<CachedApp | null> {
  const loadedAt = Date.now();
  const [rows, policies] = await Promise.all([db.select().from(apps).where(where).limit(1), policiesQuery(db, {})]);
  const row = rows[0];
  if (!row) return null;
  // Guests have no team, user or key: the global level is the whole of their policy.
  const { settings } = resolvePolicies(policies, {});
  return cachedApp(row, resolvePolicy([settings.global]), loadedAt);
}

async function findApp(cache: IsolateCache<CachedApp | null>, id: string, load: () => Promise<CachedApp | null>) {
  const cached = cache.get(id);
  if (cached !== undefined) return cached;
  const app = await load();
  // Unknown ids and keys are remembered briefly too, so a flood of made-up ones does not reach Postgres.
  cache.set(id, app, app ? APP_CACHE_TTL_MS : 5_000);
  return app;
}

export const findAppById = (db: Database, id: string) => findApp(appsById, id, () => loadApp(db, eq(apps.id, id)));

export const findAppByKey = (db: Database, publishableKey: string) =>
  findApp(appsByKey, publishableKey, () => loadApp(db, eq(apps.publishableKey, publishableKey)));

/** Drops this isolate's copies of an app after an admin change (other isolates rely on the Redis markers). */
export function forgetApp(id: string, publishableKeys: string[] = []): void {
  forgetAppOrigins();
  appsById.delete(id);
  for (const key of publishableKeys) appsByKey.delete(key);
}

/** Drops every app this isolate holds: after a change to the global settings. */
export function forgetApps(): void {
  appsById.clear();
  appsByKey.clear();
}
