// The caller's own token for a `user_oauth` server, for one request: the
// sealed access token while it lives, else refreshed at the server. Refreshes
// are single-flight per connection — within the isolate by a shared promise,
// across isolates by a Redis lock, the others reading the winner's row — so
// concurrent calls never spend a rotating refresh token twice. A refused
// refresh marks the connection as needing the user to connect again.
import { and, eq } from "drizzle-orm";
import { type Principal, principalPersonId } from "../../auth/principal.ts";
import type { Config } from "../../config/index.ts";
import { mcpConnections } from "../../db/schema.ts";
import { GatewayError } from "../../http/errors.ts";
import type { Services } from "../../services.ts";
import type { McpServer } from "../registry.ts";
import {
  type ConnectionRow,
  connectionOf,
  type OAuthServer,
  readConnection,
  rememberConnection,
  sealedTokens,
  tokenRequest,
  tokensOf,
} from "./store.ts";

/** Refreshed this long before the server's expiry, so a token never expires in flight. */
const EARLY_MS = 60_000;
const LOCK_MS = 15_000;
/** How often, and how many times, an isolate that lost the lock looks for the winner's tokens. */
const WAIT_STEP_MS = 100;
const WAIT_STEPS = 50;

/** Errors that are the answer to a request (a JSON-RPC error), not a failure of the transport. */
const CONNECTION_ERRORS = new Set(["mcp_connection_required", "mcp_connection_reconnect", "mcp_user_required"]);

/** A server left out because the caller has not connected to it: expected, so not worth a log line. */
export const awaitsConnection = (error: unknown) => error instanceof GatewayError && CONNECTION_ERRORS.has(error.code ?? "");

const startPath = (server: string) => `/api/mcp-connections/${server}/start`;

const needsConnection = (server: string, origin: string) =>
  new GatewayError(
    403,
    "permission",
    `MCP server \`${server}\` acts as each user with their own account, and you have not connected yours: POST ${origin}${startPath(server)} with your credential and open the URL it answers in a browser.`,
    { code: "mcp_connection_required" },
  );

const needsReconnection = (server: string, origin: string) =>
  new GatewayError(
    403,
    "permission",
    `Your connection to MCP server \`${server}\` has expired or was revoked: connect again with POST ${origin}${startPath(server)}.`,
    { code: "mcp_connection_reconnect" },
  );

const needsUser = (server: string) =>
  new GatewayError(
    403,
    "permission",
    `MCP server \`${server}\` acts as each user with their own account: only a signed-in user, or a key bound to one, can use it.`,
    { code: "mcp_user_required" },
  );

const fresh = (row: ConnectionRow) => row.expiresAt === null || row.expiresAt.getTime() - EARLY_MS > Date.now();
const refreshing = new Map<string, Promise<ConnectionRow>>();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Another isolate holds the lock: its refreshed row, once written. */
async function awaitWinner(services: Services, row: ConnectionRow): Promise<ConnectionRow> {
  for (let step = 0; step < WAIT_STEPS; step++) {
    await sleep(WAIT_STEP_MS);
    const current = await readConnection(services, row.userId, row.server);
    if (!current || current.updatedAt.getTime() !== row.updatedAt.getTime()) return current ?? { ...row, status: "reconnect" };
  }
  throw new GatewayError(
    503,
    "unavailable",
    `Your token for MCP server \`${row.server}\` is being refreshed; try again shortly.`,
    {
      code: "mcp_token_refresh_busy",
      headers: { "retry-after": "1" },
    },
  );
}

/** Spends the refresh token at the server and stores what it answers; a refusal marks the connection `reconnect`. */
async function spendRefresh(services: Services, config: Config, server: OAuthServer, row: ConnectionRow): Promise<ConnectionRow> {
  const { refreshToken } = await tokensOf(row, config);
  const answer = refreshToken
    ? await tokenRequest(server, { grant_type: "refresh_token", refresh_token: refreshToken })
    : { status: 400, body: { error: "invalid_grant" } };
  const refused = answer.body.error === "invalid_grant" || answer.status === 400 || answer.status === 401;
  if (answer.status !== 200 || typeof answer.body.access_token !== "string") {
    if (!refused) {
      throw new GatewayError(502, "upstream", `MCP server \`${server.name}\`'s token endpoint answered ${answer.status}.`, {
        code: "mcp_token_refresh_failed",
      });
    }
    const [marked] = await services.db
      .update(mcpConnections)
      .set({ status: "reconnect", updatedAt: new Date() })
      .where(eq(mcpConnections.id, row.id))
      .returning();
    return marked ?? { ...row, status: "reconnect" };
  }
  const { columns } = await sealedTokens(row, answer.body, refreshToken, config);
  const [stored] = await services.db
    .update(mcpConnections)
    .set({ ...columns, updatedAt: new Date() })
    .where(and(eq(mcpConnections.id, row.id), eq(mcpConnections.updatedAt, row.updatedAt)))
    .returning();
  if (!stored) throw new Error("the connection changed while its token was refreshed");
  return stored;
}

/** The connection with a live access token: refreshed under the lock, or the one another isolate refreshed. */
async function refreshed(services: Services, config: Config, server: OAuthServer, stale: ConnectionRow): Promise<ConnectionRow> {
  const lock = `sluice:mcp-refresh:${stale.id}`;
  const held = await services.redis.set(lock, "1", { nx: true, px: LOCK_MS });
  if (held !== "OK") return awaitWinner(services, stale);
  try {
    // Another isolate may have refreshed since this one read the row: its tokens are the current ones.
    const current = await readConnection(services, stale.userId, stale.server);
    if (current?.status !== "active") return current ?? { ...stale, status: "reconnect" };
    return fresh(current) ? current : await spendRefresh(services, config, server, current);
  } finally {
    await services.redis.del(lock);
  }
}

interface Caller {
  services: Services;
  config: Config;
  principal: Principal;
  /** The gateway's origin, for the start URL an error names. */
  origin: string;
}

/** The server no longer takes the token (revoked there, or it expired early): the next call refreshes it. */
async function markExpired(caller: Caller, row: ConnectionRow): Promise<void> {
  const [stored] = await caller.services.db
    .update(mcpConnections)
    .set({ expiresAt: new Date(0), updatedAt: new Date() })
    .where(and(eq(mcpConnections.id, row.id), eq(mcpConnections.updatedAt, row.updatedAt)))
    .returning();
  if (stored) rememberConnection(caller.services, caller.config, stored);
}

/** The caller's connection to the server with a live token, refreshed when it is about to expire. */
async function liveConnection(caller: Caller, server: OAuthServer): Promise<ConnectionRow> {
  const { services, config, origin } = caller;
  const userId = principalPersonId(caller.principal);
  if (!userId) throw needsUser(server.name);
  let row = await connectionOf(services, config, userId, server.name);
  if (!row) throw needsConnection(server.name, origin);
  if (row.status === "active" && !fresh(row)) {
    const id = row.id;
    let pending = refreshing.get(id);
    if (!pending) {
      pending = refreshed(services, config, server, row).finally(() => refreshing.delete(id));
      refreshing.set(id, pending);
    }
    row = await pending;
    rememberConnection(services, config, row);
  }
  if (row.status !== "active") throw needsReconnection(server.name, origin);
  return row;
}

/** The request's servers as this caller reaches them: a `user_oauth` server with the caller's own token, resolved once. */
export function asCaller(servers: McpServer[], caller: Caller): McpServer[] {
  return servers.map((server) => {
    const { oauth } = server;
    if (!oauth) return server;
    let connection: Promise<ConnectionRow> | undefined;
    const live = () => {
      connection ??= liveConnection(caller, { ...server, oauth });
      return connection;
    };
    return {
      ...server,
      callerHeaders: async () => ({ authorization: `Bearer ${(await tokensOf(await live(), caller.config)).accessToken}` }),
      callerRefused: async () => markExpired(caller, await live()),
    };
  });
}
