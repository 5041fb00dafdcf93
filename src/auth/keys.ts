// Virtual keys: 256-bit secrets shown once; only their SHA-256 and a display
// suffix are stored. Lookups are cached in the isolate.
import { eq, type SQL, sql } from "drizzle-orm";
import type { AnyPgColumn } from "drizzle-orm/pg-core";
import type { Database } from "../db/client.ts";
import { teams, users, virtualKeys } from "../db/schema.ts";
import { IsolateCache } from "../isolate-cache.ts";
import { forgetCallerLimits } from "../limits/isolate-state.ts";
import { reason } from "../log.ts";
import { type CallerPolicy, resolvePolicy } from "../policy/index.ts";
import { overlay, policiesQuery, resolvePolicies } from "./policies.ts";
import type { KeyIdentity, Limits } from "./principal.ts";

export type KeyRow = typeof virtualKeys.$inferSelect;

export interface CachedKey extends KeyIdentity {
  revokedAt: number | null;
  /** The owning user, the key's team or the owner's team is blocked. */
  ownerBlocked: boolean;
}

/** Cached entries are trusted this long; revocations inside it are caught by a Redis marker. */
export const KEY_CACHE_TTL_MS = 60_000;
const keysByHash = new IsolateCache<CachedKey | null>(10_000, KEY_CACHE_TTL_MS);
const keysById = new IsolateCache<CachedKey | null>(10_000, KEY_CACHE_TTL_MS);

export function generateSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `sk-${btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "")}`;
}

export function newKeyId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return `key_${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Hashes of secrets seen lately: a warm key's lookup costs no digest. Bounded, and short-lived like the key cache. */
const hashes = new IsolateCache<string>(10_000, KEY_CACHE_TTL_MS);

export async function hashSecret(secret: string): Promise<string> {
  const known = hashes.get(secret);
  if (known) return known;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(secret));
  const hash = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  hashes.set(secret, hash);
  return hash;
}

export const displaySuffix = (secret: string) => secret.slice(-4);

function ownerToolCalls(owner: CallerPolicy): KeyIdentity["ownerToolCalls"] {
  const { mcp_calls_per_minute: minute, mcp_calls_per_day: day } = owner;
  return minute === undefined && day === undefined ? null : { minute, day };
}

async function loadKey(db: Database, where: SQL): Promise<CachedKey | null> {
  // One round trip: the rows the key names (its owner, its team, their settings) are found through the key's own row.
  const ofKey = (column: AnyPgColumn) => sql`(select ${column} from ${virtualKeys} where ${where} limit 1)`;
  const keyUser = ofKey(virtualKeys.userId);
  // The key's team, or else its owner's: its block is state the key carries, not only a marker that expires.
  const keyTeam = sql`coalesce(${ofKey(virtualKeys.teamId)}, (select ${users.teamId} from ${users} where ${users.id} = ${keyUser}))`;
  const [[row], owner, team, policyRows] = await db.batch([
    db.select().from(virtualKeys).where(where).limit(1),
    db.select({ blockedAt: users.blockedAt, teamId: users.teamId, tier: users.tier }).from(users).where(eq(users.id, keyUser)),
    db.select({ blockedAt: teams.blockedAt, cacheScope: teams.cacheScope }).from(teams).where(eq(teams.id, keyTeam)),
    policiesQuery(db, { userId: keyUser, teamId: keyTeam, keyId: ofKey(virtualKeys.id) }),
  ]);
  if (!row) return null;
  const teamId = row.teamId ?? owner[0]?.teamId ?? null;
  const policies = resolvePolicies(policyRows, { userId: row.userId, teamId });
  const { global, team: teamSettings, user: ownerSettings, key: keySettings } = policies.settings;
  const keyLimits: Limits = overlay(
    {
      requestsPerMinute: row.rpmLimit,
      tokensPerMinute: row.tpmLimit,
      tokensPerDay: null,
      tokensPerMonth: null,
      usdPerDay: null,
      usdPerMonth: null,
    },
    policies.key,
  );
  return {
    keyId: row.id,
    name: row.name,
    userId: row.userId,
    teamId,
    ownerTier: owner[0]?.tier ?? null,
    ownerToolCalls: row.userId ? ownerToolCalls(resolvePolicy([global, teamSettings, ownerSettings])) : null,
    ownerMinted: row.userId !== null && (row.createdBy === `user:${row.userId}` || row.createdBy === `operator:${row.userId}`),
    models: row.models,
    limits: keyLimits,
    budget: row.maxBudgetUsd === null ? null : { maxUsd: row.maxBudgetUsd, duration: row.budgetDuration },
    expiresAt: row.expiresAt ? row.expiresAt.getTime() : null,
    metadata: row.metadata,
    // The key's own cache scope, else its team's.
    cache: { ttlSeconds: row.cacheTtlSeconds, scope: row.cacheScope ?? team[0]?.cacheScope ?? "key" },
    userLimits: row.userId ? policies.user : null,
    policy: resolvePolicy([global, teamSettings, ownerSettings, keySettings]),
    teamLimits: policies.team,
    revokedAt: row.revokedAt ? row.revokedAt.getTime() : null,
    loadedAt: Date.now(),
    ownerBlocked: Boolean(owner[0]?.blockedAt) || Boolean(team[0]?.blockedAt),
  };
}

/**
 * Postgres unreachable: a key this isolate knew within this long keeps its
 * cached identity (a revocation still reaches it through the Redis marker),
 * rather than every known caller failing with the database.
 */
const KEY_STALE_IF_ERROR_MS = 10 * 60_000;

async function findKey(
  cache: IsolateCache<CachedKey | null>,
  id: string,
  load: () => Promise<CachedKey | null>,
): Promise<CachedKey | null> {
  const cached = cache.get(id);
  if (cached !== undefined) return cached;
  let key: CachedKey | null;
  try {
    key = await load();
  } catch (error) {
    const stale = cache.stale(id, KEY_STALE_IF_ERROR_MS);
    if (!stale) throw error;
    console.warn(`sluice: key ${stale.keyId} served from this isolate's copy; Postgres: ${reason(error)}`);
    return stale;
  }
  // Unknown keys are remembered briefly too, so a flood of bad keys does not reach Postgres.
  cache.set(id, key, key ? KEY_CACHE_TTL_MS : 5_000);
  return key;
}

/** A key by its secret's hash; null when no such key exists. */
export function findKeyByHash(db: Database, hash: string): Promise<CachedKey | null> {
  return findKey(keysByHash, hash, () => loadKey(db, eq(virtualKeys.keyHash, hash)));
}

export function findKeyById(db: Database, id: string): Promise<CachedKey | null> {
  return findKey(keysById, id, () => loadKey(db, eq(virtualKeys.id, id)));
}

/** Drops this isolate's copies after an admin change (other isolates rely on the Redis marker). */
export function forgetKey(id: string, hash?: string): void {
  keysById.delete(id);
  if (hash) keysByHash.delete(hash);
  forgetCallerLimits(`key:${id}`);
}

/** Drops every key this isolate holds: after a change to the global settings, which every key carries. */
export function forgetKeys(): void {
  keysById.clear();
  keysByHash.clear();
}
