// The provider credentials one call may use: the caller's own (a user's, or
// else their team's) when they stored any for the provider, otherwise the
// gateway's global ones (Worker secrets and stored global keys).
import { and, eq, isNull, or } from "drizzle-orm";
import { principalPersonId, principalTeamId } from "../auth/principal.ts";
import type { GatewayContext } from "../context.ts";
import { providerCredentials } from "../db/schema.ts";
import { IsolateCache, RefreshingCache } from "../isolate-cache.ts";
import type { ProviderSettings } from "../providers/types.ts";
import type { CredentialRow } from "../routing/catalog.ts";
import type { Services } from "../services.ts";
import { type Keyring, open } from "./envelope.ts";

export interface CredentialLimits {
  requestsPerMinute: number | null;
  tokensPerMinute: number | null;
  tokensPerDay: number | null;
}

export interface Credential {
  /** `env:<provider>` for a Worker secret, else the stored credential's id. */
  id: string;
  owner: "env" | "global" | "user" | "team";
  weight: number;
  limits: CredentialLimits;
  /** The provider key, opened on first use; undefined for a provider that takes none. */
  secret(): Promise<string | undefined>;
  /** The secret is an OAuth access token, sent as `Authorization: Bearer` (a user's Google account). */
  bearer?: boolean;
  /** Chosen before any credential without it, whatever their weights (a user's own account before the gateway's key). */
  preferred?: boolean;
  /** Where this credential's calls go, in place of the target's (an account's own API and project). */
  settings?: Partial<ProviderSettings>;
  /** Drops what it holds for the secret (an access token the upstream refused), so the next use fetches it afresh. */
  invalidate?(): void;
}

const NO_LIMITS: CredentialLimits = { requestsPerMinute: null, tokensPerMinute: null, tokensPerDay: null };

export function envCredential(providerId: string, apiKey: string | undefined): Credential {
  return { id: `env:${providerId}`, owner: "env", weight: 1, limits: NO_LIMITS, secret: async () => apiKey };
}

/** What a sealed key is bound to: a row's ciphertext opens only as that row. */
export const credentialContext = (row: Pick<CredentialRow, "id" | "providerId" | "ownerType" | "ownerId">) =>
  `sluice:credential:${row.id}:${row.providerId}:${row.ownerType}:${row.ownerId}`;

/** Opened keys, per keyring, by row id and version, so a warm request does no decryption. */
const openedKeys = new WeakMap<Keyring, IsolateCache<string>>();

function openedFor(keyring: Keyring): IsolateCache<string> {
  let cache = openedKeys.get(keyring);
  if (!cache) {
    cache = new IsolateCache<string>(1000, 10 * 60_000);
    openedKeys.set(keyring, cache);
  }
  return cache;
}

export function storedCredential(row: CredentialRow, keyring: Keyring): Credential {
  return {
    id: row.id,
    owner: row.ownerType,
    weight: row.weight,
    limits: { requestsPerMinute: row.rpmLimit, tokensPerMinute: row.tpmLimit, tokensPerDay: row.tokensPerDay },
    async secret() {
      const cacheKey = `${row.id}:${row.updatedAt.getTime()}:${row.kekVersion}`;
      const opened = openedFor(keyring);
      const cached = opened.get(cacheKey);
      if (cached !== undefined) return cached;
      const secret = await open(row, credentialContext(row), keyring);
      opened.set(cacheKey, secret);
      return secret;
    },
  };
}

const ownedCaches = new WeakMap<Services, RefreshingCache<CredentialRow[]>>();

const ownerCacheKey = (userId: string | null, teamId: string | null) => `${userId ?? ""}|${teamId ?? ""}`;

/** The caller's own enabled credentials (user's and team's), from the isolate cache or Postgres. */
export async function ownedCredentials(c: GatewayContext): Promise<CredentialRow[]> {
  const services = c.get("services");
  const config = c.get("config");
  const principal = c.get("principal");
  // A user's own keys serve only them, or a key they minted themself; the team's serve all its callers.
  const userId = principalPersonId(principal);
  const teamId = principalTeamId(principal);
  if (!userId && !teamId) return [];
  let cache = ownedCaches.get(services);
  if (!cache) {
    cache = new RefreshingCache(10_000, config.routing.catalogRefreshMs, 10 * 60_000);
    ownedCaches.set(services, cache);
  }
  return await cache.get(
    ownerCacheKey(userId, teamId),
    // The query is built only when it is run: a warm request reads the cache and allocates nothing for it.
    () => {
      const owners = [
        ...(userId ? [and(eq(providerCredentials.ownerType, "user"), eq(providerCredentials.ownerId, userId))] : []),
        ...(teamId ? [and(eq(providerCredentials.ownerType, "team"), eq(providerCredentials.ownerId, teamId))] : []),
      ];
      return services.db
        .select()
        .from(providerCredentials)
        .where(and(isNull(providerCredentials.disabledAt), or(...owners)));
    },
    (work) => c.executionCtx.waitUntil(work),
  );
}

/** Forgets this isolate's copies of owners' credentials after one changes; other isolates re-read within CATALOG_REFRESH. */
export function forgetOwnedCredentials(services: Services): void {
  ownedCaches.get(services)?.clear();
}

/** The caller's own keys for a provider when there are any (a user's before a team's), else the global ones. */
export function credentialsFor(providerId: string, owned: CredentialRow[], global: Credential[], keyring: Keyring): Credential[] {
  for (const ownerType of ["user", "team"] as const) {
    const own = owned.filter((row) => row.providerId === providerId && row.ownerType === ownerType);
    if (own.length > 0) return own.map((row) => storedCredential(row, keyring));
  }
  return global;
}
