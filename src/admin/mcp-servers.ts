// MCP servers behind `/mcp`: registered, changed and removed by the admin.
// The credential the gateway sends a server (a bearer token or a static
// header, or the OAuth client it gets its own token with), or the OAuth client
// users connect their own accounts through, is
// sealed on the way in, like a provider key, and never shown again; views
// carry its last four characters only.
import { asc, eq } from "drizzle-orm";
import type { Config } from "../config/index.ts";
import { seal } from "../credentials/envelope.ts";
import { mcpServers } from "../db/schema.ts";
import { GatewayError } from "../http/errors.ts";
import { discoverEndpoints } from "../mcp/connections/discovery.ts";
import { forgetMcpServers, type McpServerRow, mcpSecretContext } from "../mcp/registry.ts";
import type { Services } from "../services.ts";
import * as z from "../zod.ts";

/** Headers the gateway sets itself on every MCP request, which a credential may not take over. */
const RESERVED_HEADERS = new Set([
  "accept",
  "content-type",
  "content-length",
  "host",
  "connection",
  "transfer-encoding",
  "mcp-session-id",
  "mcp-protocol-version",
  "x-request-id",
]);

const endpointUrl = z.url({ protocol: /^https?$/, message: "must be an http or https URL" }).check(z.maxLength(2048));

const authSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("none") }),
  z.strictObject({ type: z.literal("bearer"), token: z.string().check(z.minLength(1), z.maxLength(8192)) }),
  z.strictObject({
    type: z.literal("header"),
    name: z.string().check(
      z.regex(/^[A-Za-z0-9-]{1,100}$/, { message: "must be a header name" }),
      z.refine((name) => !RESERVED_HEADERS.has(name.toLowerCase()), { message: "is a header the gateway sets itself" }),
    ),
    value: z.string().check(z.minLength(1), z.maxLength(8192)),
  }),
  // Each user connects their own account at the server (mcp/connections/); the gateway holds the OAuth client.
  z
    .strictObject({
      type: z.literal("user_oauth"),
      /** Both, or neither: then found from the server's RFC 9728 and RFC 8414 metadata. */
      authorization_url: z.optional(endpointUrl),
      token_url: z.optional(endpointUrl),
      revocation_url: z.optional(z.nullable(endpointUrl)),
      client_id: z.string().check(z.minLength(1), z.maxLength(1000)),
      /** Absent for a public client, which PKCE alone protects. */
      client_secret: z.optional(z.string().check(z.minLength(1), z.maxLength(8192))),
      scopes: z.optional(z.string().check(z.maxLength(2000))),
    })
    .check(
      z.refine((auth) => (auth.authorization_url === undefined) === (auth.token_url === undefined), {
        message: "give both `authorization_url` and `token_url`, or neither to find them from the server's metadata",
      }),
    ),
  // The gateway's own token, from the client credentials grant at `token_url`.
  z.strictObject({
    type: z.literal("client_credentials"),
    token_url: endpointUrl,
    client_id: z.string().check(z.minLength(1), z.maxLength(1000)),
    client_secret: z.string().check(z.minLength(1), z.maxLength(8192)),
    scopes: z.optional(z.string().check(z.maxLength(2000))),
    audience: z.optional(z.string().check(z.minLength(1), z.maxLength(2000))),
  }),
]);

const serverFields = {
  url: z.url({ protocol: /^https?$/, message: "must be an http or https URL" }).check(z.maxLength(2048)),
  description: z.optional(z.nullable(z.string().check(z.maxLength(1000)))),
  /** How the gateway authenticates to the server; `none` by default. */
  auth: z.optional(authSchema),
  timeout_ms: z.optional(z.number().check(z.int(), z.gte(100), z.lte(300_000))),
  price_per_call_usd: z.optional(z.nullable(z.number().check(z.gte(0), z.lte(1000)))),
  disabled: z.optional(z.boolean()),
};

export const createMcpServerSchema = z.strictObject({
  /** The prefix of its tools' names (`github` → `github__create_issue`). */
  name: z.string().check(
    z.regex(/^[a-z][a-z0-9-]{0,62}$/, {
      message: "must be lowercase letters, digits and `-`, starting with a letter",
    }),
  ),
  ...serverFields,
});
export const updateMcpServerSchema = z.strictObject({ ...serverFields, url: z.optional(serverFields.url) });
export type CreateMcpServerInput = z.infer<typeof createMcpServerSchema>;
export type UpdateMcpServerInput = z.infer<typeof updateMcpServerSchema>;

export function mcpServerView(row: McpServerRow) {
  return {
    name: row.id,
    url: row.url,
    description: row.description,
    auth_type: row.authType,
    auth_header: row.authType === "header" ? row.authHeader : null,
    oauth: row.oauth
      ? {
          authorization_url: row.oauth.authorizationUrl || null,
          token_url: row.oauth.tokenUrl,
          revocation_url: row.oauth.revocationUrl,
          client_id: row.oauth.clientId,
          scopes: row.oauth.scopes,
          ...(row.authType === "client_credentials" && { audience: row.oauth.audience ?? null }),
        }
      : null,
    secret_display: row.secretSuffix ? `…${row.secretSuffix}` : null,
    timeout_ms: row.timeoutMs,
    price_per_call_usd: row.pricePerCallUsd,
    disabled: row.disabledAt !== null,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

const notFound = (name: string) =>
  new GatewayError(404, "not_found", `No MCP server \`${name}\`.`, { code: "mcp_server_not_found" });

const NO_SECRET = { ciphertext: null, iv: null, wrappedKey: null, kekVersion: null, secretSuffix: null };

async function sealed(name: string, secret: string | undefined, config: Config) {
  if (secret === undefined) return NO_SECRET;
  return { ...(await seal(secret, mcpSecretContext(name), config.encryption)), secretSuffix: secret.slice(-4) };
}

/** The columns a credential sets: sealed for its row, or cleared for `none`. */
async function credentialColumns(server: { name: string; url: string }, auth: z.infer<typeof authSchema>, config: Config) {
  const { name } = server;
  if (auth.type === "none") return { authType: "none" as const, authHeader: null, oauth: null, ...NO_SECRET };
  if (auth.type === "user_oauth") {
    const endpoints =
      auth.authorization_url && auth.token_url
        ? { authorizationUrl: auth.authorization_url, tokenUrl: auth.token_url, revocationUrl: null }
        : await discoverEndpoints(server.url);
    const oauth = {
      ...endpoints,
      revocationUrl: auth.revocation_url === undefined ? endpoints.revocationUrl : auth.revocation_url,
      clientId: auth.client_id,
      scopes: auth.scopes ?? "",
    };
    return { authType: "user_oauth" as const, authHeader: null, oauth, ...(await sealed(name, auth.client_secret, config)) };
  }
  if (auth.type === "client_credentials") {
    const oauth = {
      authorizationUrl: "",
      tokenUrl: auth.token_url,
      revocationUrl: null,
      clientId: auth.client_id,
      scopes: auth.scopes ?? "",
      audience: auth.audience ?? null,
    };
    return { authType: auth.type, authHeader: null, oauth, ...(await sealed(name, auth.client_secret, config)) };
  }
  const secret = auth.type === "bearer" ? auth.token : auth.value;
  return {
    authType: auth.type,
    authHeader: auth.type === "header" ? auth.name.toLowerCase() : null,
    oauth: null,
    ...(await sealed(name, secret, config)),
  };
}

export async function listMcpServers(services: Services) {
  const rows = await services.db.select().from(mcpServers).orderBy(asc(mcpServers.id));
  return rows.map(mcpServerView);
}

export async function getMcpServer(services: Services, name: string): Promise<McpServerRow> {
  const [row] = await services.db.select().from(mcpServers).where(eq(mcpServers.id, name));
  if (!row) throw notFound(name);
  return row;
}

export async function createMcpServer(services: Services, config: Config, input: CreateMcpServerInput) {
  const [existing] = await services.db.select({ id: mcpServers.id }).from(mcpServers).where(eq(mcpServers.id, input.name));
  if (existing) {
    throw new GatewayError(409, "invalid_request", `MCP server \`${input.name}\` exists.`, { code: "mcp_server_exists" });
  }
  const [row] = await services.db
    .insert(mcpServers)
    .values({
      id: input.name,
      url: input.url,
      description: input.description ?? null,
      ...(await credentialColumns({ name: input.name, url: input.url }, input.auth ?? { type: "none" }, config)),
      ...(input.timeout_ms !== undefined && { timeoutMs: input.timeout_ms }),
      pricePerCallUsd: input.price_per_call_usd ?? null,
      disabledAt: input.disabled ? new Date() : null,
    })
    .returning();
  if (!row) throw new Error("mcp server insert returned no row");
  forgetMcpServers(services);
  return mcpServerView(row);
}

export async function updateMcpServer(services: Services, config: Config, name: string, input: UpdateMcpServerInput) {
  const existing = await getMcpServer(services, name);
  const [row] = await services.db
    .update(mcpServers)
    .set({
      ...(input.url !== undefined && { url: input.url }),
      ...(input.description !== undefined && { description: input.description }),
      ...(input.auth !== undefined && (await credentialColumns({ name, url: input.url ?? existing.url }, input.auth, config))),
      ...(input.timeout_ms !== undefined && { timeoutMs: input.timeout_ms }),
      ...(input.price_per_call_usd !== undefined && { pricePerCallUsd: input.price_per_call_usd }),
      ...(input.disabled !== undefined && { disabledAt: input.disabled ? (existing.disabledAt ?? new Date()) : null }),
      updatedAt: new Date(),
    })
    .where(eq(mcpServers.id, name))
    .returning();
  forgetMcpServers(services);
  return mcpServerView(row ?? existing);
}

export async function deleteMcpServer(services: Services, name: string) {
  const [row] = await services.db.delete(mcpServers).where(eq(mcpServers.id, name)).returning({ id: mcpServers.id });
  if (!row) throw notFound(name);
  forgetMcpServers(services);
  return { name, deleted: true };
}
