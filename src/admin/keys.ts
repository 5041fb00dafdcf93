// Creating, changing, revoking and rotating virtual keys.
import { eq, sql } from "drizzle-orm";
import { markChanged, markDenied } from "../auth/deny-list.ts";
import { displaySuffix, forgetKey, generateSecret, hashSecret, type KeyRow, newKeyId } from "../auth/keys.ts";
import type { Principal } from "../auth/principal.ts";
import { parseDuration } from "../config/index.ts";
import type { Database } from "../db/client.ts";
import { teams, usageEvents, users, virtualKeys } from "../db/schema.ts";
import { GatewayError } from "../http/errors.ts";
import { budgetWindow, windowsAt } from "../limits/windows.ts";
import type { Settings } from "../policy/index.ts";
import type { Services } from "../services.ts";
import type { CreateKeyInput } from "./schemas.ts";
import { readSettings, writeSettings } from "./settings.ts";

/** A key as the API shows it: never the secret, only its last characters; its settings beside it. */
export function keyView(row: KeyRow, settings: Settings) {
  return {
    id: row.id,
    name: row.name,
    key_suffix: row.keySuffix,
    key_display: `sk-…${row.keySuffix}`,
    user_id: row.userId,
    team_id: row.teamId,
    models: row.models,
    rpm_limit: row.rpmLimit,
    tpm_limit: row.tpmLimit,
    max_budget: row.maxBudgetUsd,
    budget_duration: row.budgetDuration,
    expires_at: row.expiresAt?.toISOString() ?? null,
    revoked_at: row.revokedAt?.toISOString() ?? null,
    metadata: row.metadata,
    cache_ttl: row.cacheTtlSeconds,
    cache_scope: row.cacheScope ?? "key",
    settings,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

const expiryFrom = (duration: string | null | undefined): Date | null => {
  const seconds = duration ? parseDuration(duration) : undefined;
  return seconds === undefined ? null : new Date(Date.now() + seconds * 1000);
};

/** Makes sure the key's owners exist, so admins can mint a key for a user before they first sign in. */
async function ensureOwners(services: Services, input: { user_id?: string | null; team_id?: string | null }): Promise<void> {
  const { db } = services;
  if (input.team_id) await db.insert(teams).values({ id: input.team_id, name: input.team_id }).onConflictDoNothing();
  if (input.user_id)
    await db
      .insert(users)
      .values({ id: input.user_id, teamId: input.team_id ?? null })
      .onConflictDoNothing();
}

/** Who mints a key, as `virtual_keys.created_by` keeps it. */
export function creatorOf(principal: Principal): string {
  switch (principal.type) {
    case "admin":
      return "admin";
    case "operator":
      return `${principal.via === "admin_token" ? "admin_token" : "operator"}:${principal.subject}`;
    case "user":
      return `user:${principal.userId}`;
    case "key":
      return `key:${principal.keyId}`;
    case "guest":
      return `guest:${principal.appId}`;
  }
}

/** Creates a key; the secret is returned here and never again. */
export async function createKey(services: Services, input: CreateKeyInput, createdBy: string | null) {
  await ensureOwners(services, input);
  const secret = generateSecret();
  const [row] = await services.db
    .insert(virtualKeys)
    .values({
      id: newKeyId(),
      keyHash: await hashSecret(secret),
      keySuffix: displaySuffix(secret),
      name: input.name ?? null,
      userId: input.user_id ?? null,
      teamId: input.team_id ?? null,
      models: input.models ?? null,
      rpmLimit: input.rpm_limit ?? null,
      tpmLimit: input.tpm_limit ?? null,
      maxBudgetUsd: input.max_budget ?? null,
      budgetDuration: input.budget_duration ?? null,
      expiresAt: expiryFrom(input.duration),
      metadata: input.metadata ?? {},
      createdBy,
      cacheTtlSeconds: input.cache_ttl || null,
      cacheScope: input.cache_scope ?? null,
    })
    .returning();
  if (!row) throw new Error("key insert returned no row");
  if (input.settings) await writeSettings(services, "key", row.id, input.settings);
  return { ...keyView(row, await readSettings(services, "key", row.id)), key: secret };
}

export async function getKey(services: Services, id: string): Promise<KeyRow> {
  const [row] = await services.db.select().from(virtualKeys).where(eq(virtualKeys.id, id));
  if (!row) throw new GatewayError(404, "not_found", `No key \`${id}\`.`, { code: "key_not_found" });
  return row;
}

export async function updateKey(services: Services, id: string, input: Partial<CreateKeyInput>) {
  const existing = await getKey(services, id);
  await ensureOwners(services, input);
  const [row] = await services.db
    .update(virtualKeys)
    .set({
      ...(input.name !== undefined && { name: input.name }),
      ...(input.user_id !== undefined && { userId: input.user_id }),
      ...(input.team_id !== undefined && { teamId: input.team_id }),
      ...(input.models !== undefined && { models: input.models }),
      ...(input.rpm_limit !== undefined && { rpmLimit: input.rpm_limit }),
      ...(input.tpm_limit !== undefined && { tpmLimit: input.tpm_limit }),
      ...(input.max_budget !== undefined && { maxBudgetUsd: input.max_budget }),
      ...(input.budget_duration !== undefined && { budgetDuration: input.budget_duration }),
      ...(input.duration !== undefined && { expiresAt: expiryFrom(input.duration) }),
      ...(input.metadata !== undefined && { metadata: input.metadata }),
      ...(input.cache_ttl !== undefined && { cacheTtlSeconds: input.cache_ttl || null }),
      ...(input.cache_scope !== undefined && { cacheScope: input.cache_scope }),
      updatedAt: new Date(),
    })
    .where(eq(virtualKeys.id, id))
    .returning();
  if (input.settings) await writeSettings(services, "key", id, input.settings);
  // Every isolate reads the key again at its next check, not when its copy expires.
  await markChanged(services.redis, "key", id);
  forgetKey(id, existing.keyHash);
  return keyView(row ?? existing, await readSettings(services, "key", id));
}

/** Revokes at once: Postgres for good, a Redis marker for every isolate's cache. */
export async function revokeKey(services: Services, id: string) {
  const existing = await getKey(services, id);
  const [row] = await services.db
    .update(virtualKeys)
    .set({ revokedAt: existing.revokedAt ?? new Date(), updatedAt: new Date() })
    .where(eq(virtualKeys.id, id))
    .returning();
  await markDenied(services.redis, "key", id);
  forgetKey(id, existing.keyHash);
  return keyView(row ?? existing, await readSettings(services, "key", id));
}

/**
 * A new secret (and id) with the same settings; the old key is revoked. Whoever rotates holds the new
 * secret, so the new key is theirs as minter: rotating a user's own key does not hand on its reach into
 * their accounts.
 */
export async function rotateKey(services: Services, id: string, rotatedBy: string) {
  const old = await getKey(services, id);
  if (old.revokedAt)
    throw new GatewayError(409, "invalid_request", `Key \`${id}\` is revoked and cannot be rotated.`, { code: "key_revoked" });
  const remaining = old.expiresAt ? Math.max(0, Math.floor((old.expiresAt.getTime() - Date.now()) / 1000)) : null;
  const created = await createKey(
    services,
    {
      name: old.name,
      user_id: old.userId,
      team_id: old.teamId,
      models: old.models,
      rpm_limit: old.rpmLimit,
      tpm_limit: old.tpmLimit,
      max_budget: old.maxBudgetUsd,
      budget_duration: old.budgetDuration,
      duration: remaining === null ? null : `${remaining}s`,
      metadata: { ...old.metadata, rotated_from: old.id },
      cache_ttl: old.cacheTtlSeconds,
      cache_scope: old.cacheScope,
      settings: await readSettings(services, "key", id),
    },
    rotatedBy,
  );
  await revokeKey(services, id);
  return { ...created, rotated_from: id };
}

/** What each key with a budget has spent in its current budget period, from the ledger, in one query. */
export async function budgetSpend(
  db: Database,
  rows: KeyRow[],
  timeZone: string,
  now = Date.now(),
): Promise<Map<string, number>> {
  const budgeted = rows.filter((row) => row.maxBudgetUsd !== null);
  if (budgeted.length === 0) return new Map();
  const windows = windowsAt(now, timeZone);
  const conditions = budgeted.map((row) => {
    const start = budgetWindow(row.budgetDuration, now, windows).startMs;
    return sql`(${usageEvents.keyId} = ${row.id} and ${usageEvents.createdAt} >= ${new Date(start).toISOString()})`;
  });
  const totals = await db
    .select({ keyId: usageEvents.keyId, spend: sql<string>`sum(${usageEvents.costUsd})::text` })
    .from(usageEvents)
    .where(sql.join(conditions, sql` or `))
    .groupBy(usageEvents.keyId);
  return new Map(totals.map((row) => [row.keyId ?? "", Number(row.spend)]));
}
