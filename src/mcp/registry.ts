// The MCP servers an admin registered, as the gateway calls them: URL,
// timeout, price, and the headers that carry the gateway's credential (opened
// from its sealed form). Read from Postgres at most once per catalog refresh
// per isolate, so consecutive MCP requests pay nothing for it.
import { isNull } from "drizzle-orm";
import type { Config } from "../config/index.ts";
import { open } from "../credentials/envelope.ts";
import { type McpServerOAuth, mcpServers } from "../db/schema.ts";
import type { Services } from "../services.ts";
import type { ClientCredentials } from "./client-credentials.ts";

export type McpServerRow = typeof mcpServers.$inferSelect;

export interface McpServer {
  name: string;
  url: string;
  timeoutMs: number;
  pricePerCallUsd: number | null;
  /** The credential as the server takes it; never logged or shown. */
  headers: Record<string, string>;
  /** For a server each user connects to themself: its OAuth client (the secret opened). */
  oauth?: McpServerOAuth & { clientSecret: string | null };
  /** For a server that takes the gateway's own OAuth token: the client it asks for one with (the secret opened). */
  clientCredentials?: ClientCredentials;
  /** The caller's own credential for this request (a user's OAuth token), resolved when first sent. */
  callerHeaders?: () => Promise<Record<string, string>>;
  /** The server refused the caller's own credential (HTTP 401): it is refreshed before the next call. */
  callerRefused?: () => Promise<void>;
}

/** What a sealed MCP credential is bound to: its row, so it cannot be copied to another. */
export const mcpSecretContext = (name: string) => `mcp_server:${name}`;

const registries = new WeakMap<Services, { loadedAt: number; servers: Promise<Map<string, McpServer>> }>();

async function openSecret(row: McpServerRow, config: Config): Promise<string | null> {
  if (!row.ciphertext || !row.iv || !row.wrappedKey || row.kekVersion === null) return null;
  return open(
    { ciphertext: row.ciphertext, iv: row.iv, wrappedKey: row.wrappedKey, kekVersion: row.kekVersion },
    mcpSecretContext(row.id),
    config.encryption,
  );
}

function credentialHeaders(row: McpServerRow, secret: string | null): Record<string, string> {
  if (row.authType === "none" || row.authType === "user_oauth" || row.authType === "client_credentials" || secret === null) {
    return {};
  }
  return row.authType === "bearer" ? { authorization: `Bearer ${secret}` } : { [row.authHeader ?? "authorization"]: secret };
}

async function serverOf(row: McpServerRow, config: Config): Promise<McpServer> {
  const secret = await openSecret(row, config);
  return {
    name: row.id,
    url: row.url,
    timeoutMs: row.timeoutMs,
    pricePerCallUsd: row.pricePerCallUsd,
    headers: credentialHeaders(row, secret),
    ...(row.authType === "user_oauth" && row.oauth && { oauth: { ...row.oauth, clientSecret: secret } }),
    ...(row.authType === "client_credentials" &&
      row.oauth &&
      secret !== null && {
        clientCredentials: {
          tokenUrl: row.oauth.tokenUrl,
          clientId: row.oauth.clientId,
          clientSecret: secret,
          scopes: row.oauth.scopes,
          audience: row.oauth.audience ?? null,
        },
      }),
  };
}

async function loadServers(services: Services, config: Config): Promise<Map<string, McpServer>> {
  const rows = await services.db.select().from(mcpServers).where(isNull(mcpServers.disabledAt)).orderBy(mcpServers.id);
  const servers = await Promise.all(rows.map((row) => serverOf(row, config)));
  return new Map(servers.map((server) => [server.name, server]));
}

/** The enabled servers by name, from this isolate's copy while it is fresh. */
export function mcpServersFor(services: Services, config: Config): Promise<Map<string, McpServer>> {
  const cached = registries.get(services);
  if (cached && Date.now() - cached.loadedAt < config.routing.catalogRefreshMs) return cached.servers;
  const servers = loadServers(services, config);
  registries.set(services, { loadedAt: Date.now(), servers });
  // A failed read is not kept: the next request tries again.
  servers.catch(() => registries.delete(services));
  return servers;
}

/** Drops this isolate's copy after an admin change; other isolates take it at their next refresh. */
export function forgetMcpServers(services: Services): void {
  registries.delete(services);
}
