// Users' own connections to `user_oauth` MCP servers: the code exchanged at
// the server's token endpoint, the access and refresh tokens sealed together
// per user and server (bound to the row, so a sealed pair cannot be moved to
// another user), read back through a short isolate cache, and removed with a
// revocation at the server when it has an endpoint for it.
import { and, eq } from "drizzle-orm";
import { randomText } from "../../auth/encoding.ts";
import type { Config } from "../../config/index.ts";
import { open, seal } from "../../credentials/envelope.ts";
import { mcpConnections } from "../../db/schema.ts";
import { GatewayError } from "../../http/errors.ts";
import { IsolateCache } from "../../isolate-cache.ts";
import type { Services } from "../../services.ts";
import type { McpServer } from "../registry.ts";
import { callbackUrl } from "./state.ts";

export type ConnectionRow = typeof mcpConnections.$inferSelect;
export type OAuthServer = McpServer & { oauth: NonNullable<McpServer["oauth"]> };

export interface Tokens {
  accessToken: string;
  refreshToken: string | null;
}

/** A token endpoint's JSON answer; anything else reads as empty. */
const objectOf = (body: unknown): Record<string, unknown> =>
  body !== null && typeof body === "object" && !Array.isArray(body) ? (body as Record<string, unknown>) : {};

/** A form post to the server's token endpoint, the client authenticated in the form (`client_secret_post`). */
export async function tokenRequest(
  server: OAuthServer,
  form: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const client = {
    client_id: server.oauth.clientId,
    ...(server.oauth.clientSecret && { client_secret: server.oauth.clientSecret }),
  };
  try {
    const response = await fetch(server.oauth.tokenUrl, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: new URLSearchParams({ ...client, ...form }),
      signal: AbortSignal.timeout(server.timeoutMs),
    });
    return { status: response.status, body: objectOf(await response.json().catch(() => ({}))) };
  } catch (error) {
    throw new GatewayError(502, "upstream", `MCP server \`${server.name}\`'s token endpoint cannot be reached.`, {
      code: "mcp_token_endpoint_unreachable",
      cause: error,
    });
  }
}

const sealContext = (row: Pick<ConnectionRow, "id" | "userId" | "server">) =>
  `mcp_connection:${row.id}:${row.userId}:${row.server}`;

/** The sealed columns and expiry for a token answer; a server that sends no new refresh token keeps the old one. */
export async function sealedTokens(
  row: Pick<ConnectionRow, "id" | "userId" | "server">,
  body: Record<string, unknown>,
  previousRefresh: string | null,
  config: Config,
) {
  const tokens: Tokens = {
    accessToken: String(body.access_token),
    refreshToken: typeof body.refresh_token === "string" ? body.refresh_token : previousRefresh,
  };
  const expiresIn = Number(body.expires_in);
  return {
    tokens,
    columns: {
      ...(await seal(JSON.stringify(tokens), sealContext(row), config.encryption)),
      expiresAt: Number.isFinite(expiresIn) && expiresIn > 0 ? new Date(Date.now() + expiresIn * 1000) : null,
    },
  };
}

/** Opened tokens by row version, so consecutive calls open nothing. */
const opened = new IsolateCache<Tokens>(10_000, 3600_000);
const version = (row: ConnectionRow) => `${row.id}:${row.updatedAt.getTime()}`;

export async function tokensOf(row: ConnectionRow, config: Config): Promise<Tokens> {
  const cached = opened.get(version(row));
  if (cached) return cached;
  const tokens = JSON.parse(await open(row, sealContext(row), config.encryption)) as Tokens;
  opened.set(version(row), tokens);
  return tokens;
}

/** Connections by user and server, per isolate; a change made here is seen at once, elsewhere within CATALOG_REFRESH. */
const rows = new WeakMap<Services, IsolateCache<ConnectionRow | null>>();
const rowKey = (userId: string, server: string) => `${userId}\n${server}`;

function rowCache(services: Services, config: Config): IsolateCache<ConnectionRow | null> {
  let cache = rows.get(services);
  if (!cache) {
    cache = new IsolateCache(10_000, config.routing.catalogRefreshMs);
    rows.set(services, cache);
  }
  return cache;
}

export async function readConnection(services: Services, userId: string, server: string): Promise<ConnectionRow | null> {
  const [row] = await services.db
    .select()
    .from(mcpConnections)
    .where(and(eq(mcpConnections.userId, userId), eq(mcpConnections.server, server)));
  return row ?? null;
}

/** The user's connection to the server, from this isolate's copy while it is fresh. */
export async function connectionOf(
  services: Services,
  config: Config,
  userId: string,
  server: string,
): Promise<ConnectionRow | null> {
  const cache = rowCache(services, config);
  const key = rowKey(userId, server);
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  const row = await readConnection(services, userId, server);
  cache.set(key, row);
  return row;
}

export function rememberConnection(services: Services, config: Config, row: ConnectionRow): void {
  rowCache(services, config).set(rowKey(row.userId, row.server), row);
}

/** Exchanges the code for tokens and keeps them, sealed, as the user's connection to the server (replacing one before). */
export async function connect(
  services: Services,
  config: Config,
  input: { userId: string; server: OAuthServer; code: string; verifier: string; origin: string },
): Promise<ConnectionRow> {
  const { status, body } = await tokenRequest(input.server, {
    grant_type: "authorization_code",
    code: input.code,
    code_verifier: input.verifier,
    redirect_uri: callbackUrl(input.origin),
  });
  if (status !== 200 || typeof body.access_token !== "string") {
    throw new GatewayError(
      400,
      "invalid_request",
      `MCP server \`${input.server.name}\` did not accept the sign-in (${String(body.error ?? status)}). Start again.`,
      { code: "oauth_exchange_failed" },
    );
  }
  const existing = await readConnection(services, input.userId, input.server.name);
  const key = { id: existing?.id ?? `mcpc_${randomText(12)}`, userId: input.userId, server: input.server.name };
  const { tokens, columns } = await sealedTokens(key, body, null, config);
  const values = {
    ...columns,
    status: "active" as const,
    scopes: typeof body.scope === "string" ? body.scope : input.server.oauth.scopes,
    updatedAt: new Date(),
  };
  const [row] = await services.db
    .insert(mcpConnections)
    .values({ ...key, ...values })
    .onConflictDoUpdate({ target: [mcpConnections.userId, mcpConnections.server], set: values })
    .returning();
  if (!row) throw new Error("mcp connection upsert returned no row");
  opened.set(version(row), tokens);
  rememberConnection(services, config, row);
  return row;
}

/**
 * Revokes the grant at the server (its refresh token, else its access
 * token) when it has a revocation endpoint, and deletes the connection,
 * which is gone either way; `revoked` says whether the server confirmed it.
 */
export async function disconnect(
  services: Services,
  config: Config,
  input: { userId: string; server: string; oauth: OAuthServer | undefined },
): Promise<{ disconnected: boolean; revoked: boolean }> {
  const row = await readConnection(services, input.userId, input.server);
  if (!row) return { disconnected: false, revoked: false };
  let revoked = false;
  const revocationUrl = input.oauth?.oauth.revocationUrl;
  if (input.oauth && revocationUrl) {
    try {
      const tokens = await tokensOf(row, config);
      const client = input.oauth.oauth;
      const answer = await fetch(revocationUrl, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          token: tokens.refreshToken ?? tokens.accessToken,
          token_type_hint: tokens.refreshToken ? "refresh_token" : "access_token",
          client_id: client.clientId,
          ...(client.clientSecret && { client_secret: client.clientSecret }),
        }),
        signal: AbortSignal.timeout(input.oauth.timeoutMs),
      });
      revoked = answer.ok;
      await answer.body?.cancel();
    } catch (error) {
      console.warn(`sluice: revoking MCP connection ${row.id} failed: ${error instanceof Error ? error.message : "unknown"}`);
    }
  }
  await services.db.delete(mcpConnections).where(eq(mcpConnections.id, row.id));
  opened.delete(version(row));
  rowCache(services, config).set(rowKey(input.userId, input.server), null);
  return { disconnected: true, revoked };
}

export async function listConnections(services: Services, userId: string): Promise<ConnectionRow[]> {
  return services.db.select().from(mcpConnections).where(eq(mcpConnections.userId, userId)).orderBy(mcpConnections.server);
}

export function connectionView(row: ConnectionRow) {
  return {
    server: row.server,
    status: row.status,
    scopes: row.scopes.split(/\s+/).filter(Boolean),
    expires_at: row.expiresAt?.toISOString() ?? null,
    connected_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}
