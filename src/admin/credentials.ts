// Stored provider credentials: global ones, and users' and teams' own keys.
// The key is sealed on the way in (AES-GCM envelope) and never shown again;
// listings carry its last four characters only.
import { and, asc, eq, isNotNull, ne } from "drizzle-orm";
import type { Config } from "../config/index.ts";
import { rewrap, seal } from "../credentials/envelope.ts";
import { credentialContext, forgetOwnedCredentials } from "../credentials/pool.ts";
import { mcpConnections, mcpServers, providerAccounts, providerCredentials, providers } from "../db/schema.ts";
import { badRequest, firstIssue, GatewayError } from "../http/errors.ts";
import { credentialUrlAllowed } from "../providers/credential-urls.ts";
import { providerOf } from "../providers/index.ts";
import type { ProviderDescriptor } from "../providers/types.ts";
import { type CredentialRow, forgetCatalog } from "../routing/catalog.ts";
import type { Services } from "../services.ts";
import type { CreateCredentialInput, UpdateCredentialInput } from "./schemas.ts";

export function credentialView(row: CredentialRow) {
  return {
    id: row.id,
    provider: row.providerId,
    owner_type: row.ownerType,
    owner_id: row.ownerId || null,
    name: row.name,
    key_display: `…${row.keySuffix}`,
    weight: row.weight,
    rpm_limit: row.rpmLimit,
    tpm_limit: row.tpmLimit,
    tokens_per_day: row.tokensPerDay,
    kek_version: row.kekVersion,
    disabled: row.disabledAt !== null,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

const suffixOf = (secret: string) => secret.slice(-4);

/** The kind of a provider id (a built-in one, or a catalog provider's), and the base URL its operator set. */
async function providerKindOf(
  services: Services,
  config: Config,
  providerId: string,
): Promise<{ descriptor: ProviderDescriptor | undefined; baseUrl: string | undefined }> {
  const [row] = await services.db
    .select({ kind: providers.kind, baseUrl: providers.baseUrl })
    .from(providers)
    .where(eq(providers.id, providerId));
  const builtIn = providerOf(providerId);
  return {
    descriptor: builtIn ?? (row ? providerOf(row.kind) : undefined),
    baseUrl: row?.baseUrl ?? (builtIn ? config.providers[providerId]?.baseUrl : undefined),
  };
}

/**
 * The text to seal and the hint listings show. Most providers take one string
 * (`api_key`); those whose descriptor says so take `credential`, an object of
 * several parts (or `api_key` holding it as JSON), checked against their schema.
 */
async function secretOf(
  services: Services,
  config: Config,
  providerId: string,
  input: { api_key?: string; credential?: Record<string, unknown> },
): Promise<{ text: string; hint: string } | undefined> {
  if (input.api_key === undefined && input.credential === undefined) return undefined;
  const { descriptor, baseUrl } = await providerKindOf(services, config, providerId);
  const shape = descriptor?.credential;
  if (!shape) {
    if (input.credential !== undefined || input.api_key === undefined) {
      throw badRequest(`Invalid \`credential\`: provider \`${providerId}\` takes one key, as \`api_key\`.`, "credential");
    }
    return { text: input.api_key, hint: suffixOf(input.api_key) };
  }
  let raw: unknown = input.credential;
  if (raw === undefined) {
    try {
      raw = JSON.parse(input.api_key ?? "");
    } catch {
      // A plain key, for a provider whose credential may be one (Azure's `{api_key}`, or an Entra ID client).
      if (!shape.schema.safeParse({ api_key: input.api_key }).success) {
        throw badRequest(`Invalid \`credential\`: provider \`${providerId}\` takes a credential of several parts.`, "credential");
      }
      raw = { api_key: input.api_key };
    }
  }
  const parsed = shape.schema.safeParse(raw);
  if (!parsed.success) {
    const { param = "credential", message } = firstIssue(parsed.error, ["credential"]);
    throw badRequest(`Invalid \`${param}\`: ${message}`, param);
  }
  for (const { field, url } of shape.urls?.(parsed.data) ?? []) {
    if (credentialUrlAllowed(url, { origins: shape.origins ?? [], baseUrl })) continue;
    const hosts = [...(shape.origins ?? []), ...(baseUrl ? [new URL(baseUrl).origin] : [])].join(", ");
    throw badRequest(`Invalid \`credential.${field}\`: must be on ${hosts}`, `credential.${field}`);
  }
  return { text: JSON.stringify(parsed.data), hint: shape.hint(parsed.data) };
}

function forget(services: Services): void {
  forgetCatalog(services);
  forgetOwnedCredentials(services);
}

export async function listCredentials(services: Services, filter: { provider?: string; ownerType?: string; ownerId?: string }) {
  const conditions = [
    filter.provider ? eq(providerCredentials.providerId, filter.provider) : undefined,
    filter.ownerType ? eq(providerCredentials.ownerType, filter.ownerType as CredentialRow["ownerType"]) : undefined,
    filter.ownerId ? eq(providerCredentials.ownerId, filter.ownerId) : undefined,
  ];
  const rows = await services.db
    .select()
    .from(providerCredentials)
    .where(and(...conditions))
    .orderBy(asc(providerCredentials.createdAt));
  return rows.map(credentialView);
}

export async function getCredential(services: Services, id: string): Promise<CredentialRow> {
  const [row] = await services.db.select().from(providerCredentials).where(eq(providerCredentials.id, id));
  if (!row) throw new GatewayError(404, "not_found", `No credential \`${id}\`.`, { code: "credential_not_found" });
  return row;
}

export async function createCredential(services: Services, config: Config, input: CreateCredentialInput) {
  const ownerId = input.owner_type === "global" ? "" : (input.owner_id ?? "");
  if (input.owner_type !== "global" && !ownerId) {
    throw badRequest(`Invalid \`owner_id\`: a ${input.owner_type}'s credential names its ${input.owner_type}.`, "owner_id");
  }
  const id = `cred_${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;
  const owner = { id, providerId: input.provider, ownerType: input.owner_type, ownerId };
  const secret = await secretOf(services, config, input.provider, input);
  if (!secret) throw badRequest("Invalid `api_key`: is required", "api_key");
  const sealed = await seal(secret.text, credentialContext(owner), config.encryption);
  const [row] = await services.db
    .insert(providerCredentials)
    .values({
      ...owner,
      ...sealed,
      name: input.name ?? null,
      keySuffix: secret.hint,
      weight: input.weight ?? 1,
      rpmLimit: input.rpm_limit ?? null,
      tpmLimit: input.tpm_limit ?? null,
      tokensPerDay: input.tokens_per_day ?? null,
      disabledAt: input.disabled ? new Date() : null,
    })
    .returning();
  if (!row) throw new Error("credential insert returned no row");
  forget(services);
  return credentialView(row);
}

export async function updateCredential(services: Services, config: Config, id: string, input: UpdateCredentialInput) {
  const existing = await getCredential(services, id);
  const secret = await secretOf(services, config, existing.providerId, input);
  const sealed = secret && (await seal(secret.text, credentialContext(existing), config.encryption));
  const [row] = await services.db
    .update(providerCredentials)
    .set({
      ...(sealed && { ...sealed, keySuffix: secret.hint }),
      ...(input.name !== undefined && { name: input.name }),
      ...(input.weight !== undefined && { weight: input.weight }),
      ...(input.rpm_limit !== undefined && { rpmLimit: input.rpm_limit }),
      ...(input.tpm_limit !== undefined && { tpmLimit: input.tpm_limit }),
      ...(input.tokens_per_day !== undefined && { tokensPerDay: input.tokens_per_day }),
      ...(input.disabled !== undefined && { disabledAt: input.disabled ? (existing.disabledAt ?? new Date()) : null }),
      updatedAt: new Date(),
    })
    .where(eq(providerCredentials.id, id))
    .returning();
  forget(services);
  return credentialView(row ?? existing);
}

export async function deleteCredential(services: Services, id: string) {
  const [row] = await services.db.delete(providerCredentials).where(eq(providerCredentials.id, id)).returning();
  if (!row) throw new GatewayError(404, "not_found", `No credential \`${id}\`.`, { code: "credential_not_found" });
  forget(services);
  return { id, deleted: true };
}

/** A user's one key for a provider, replacing the one they stored before. */
export async function putOwnKey(
  services: Services,
  config: Config,
  input: { userId: string; provider: string; apiKey: string; name?: string | null },
) {
  const [existing] = await services.db
    .select()
    .from(providerCredentials)
    .where(
      and(
        eq(providerCredentials.ownerType, "user"),
        eq(providerCredentials.ownerId, input.userId),
        eq(providerCredentials.providerId, input.provider),
      ),
    );
  if (existing) {
    return {
      created: false,
      credential: await updateCredential(services, config, existing.id, {
        api_key: input.apiKey,
        ...(input.name !== undefined && { name: input.name }),
        disabled: false,
      }),
    };
  }
  const credential = await createCredential(services, config, {
    provider: input.provider,
    owner_type: "user",
    owner_id: input.userId,
    api_key: input.apiKey,
    name: input.name ?? null,
  });
  return { created: true, credential };
}

/** Rewraps every data key still under an older key-encryption key with the current one; ciphertexts are untouched. */
export async function rewrapCredentials(services: Services, config: Config) {
  const current = config.encryption.current;
  if (!current) {
    throw new GatewayError(503, "unavailable", "Set ENCRYPTION_KEY before rotating to it.", { code: "encryption_unconfigured" });
  }
  // Provider keys, and users' connected accounts and MCP connections, which are sealed the same way: left behind, either could not
  // be opened once the old key goes.
  let rewrapped = 0;
  for (const table of [providerCredentials, providerAccounts, mcpConnections]) {
    const stale = await services.db.select().from(table).where(ne(table.kekVersion, current.version));
    for (const row of stale) {
      const sealed = await rewrap(row, config.encryption);
      await services.db
        .update(table)
        .set({ wrappedKey: sealed.wrappedKey, kekVersion: sealed.kekVersion })
        .where(and(eq(table.id, row.id), eq(table.kekVersion, row.kekVersion)));
    }
    rewrapped += stale.length;
  }
  rewrapped += await rewrapMcpSecrets(services, config);
  forget(services);
  return { kek_version: current.version, rewrapped };
}

/** MCP servers' credentials, sealed the same way (a server without one has nothing to rewrap). */
async function rewrapMcpSecrets(services: Services, config: Config): Promise<number> {
  const current = config.encryption.current;
  if (!current) return 0;
  const stale = await services.db
    .select()
    .from(mcpServers)
    .where(and(isNotNull(mcpServers.kekVersion), ne(mcpServers.kekVersion, current.version)));
  for (const row of stale) {
    if (!row.ciphertext || !row.iv || !row.wrappedKey || row.kekVersion === null) continue;
    const sealed = await rewrap(
      { ciphertext: row.ciphertext, iv: row.iv, wrappedKey: row.wrappedKey, kekVersion: row.kekVersion },
      config.encryption,
    );
    await services.db
      .update(mcpServers)
      .set({ wrappedKey: sealed.wrappedKey, kekVersion: sealed.kekVersion })
      .where(and(eq(mcpServers.id, row.id), eq(mcpServers.kekVersion, row.kekVersion)));
  }
  return stale.length;
}
