// `/mcp` and `/mcp/{server}`: MCP's Streamable HTTP transport in front of the
// MCP servers an admin registered. Each POST carries one JSON-RPC message;
// requests are answered as JSON, or as server-sent events when a server sent
// progress or log messages before its answer and the client reads streams;
// notifications and responses get a 202. Sessions live in the
// `Mcp-Session-Id` itself (mcp/session.ts), so any isolate serves any request.
import { Hono } from "hono";
import { DESCRIBE } from "#describe";
import { type Principal, principalPolicy } from "../auth/principal.ts";
import type { GatewayContext, GatewayEnv } from "../context.ts";
import { jsonRpcError } from "../formats/mcp/errors.ts";
import { readJsonBody } from "../http/body.ts";
import { badRequest, GatewayError } from "../http/errors.ts";
import { mcpAccess } from "../mcp/allowlist.ts";
import { asCaller, awaitsConnection } from "../mcp/connections/tokens.ts";
import {
  answerRequest,
  forwardFromClient,
  isClientNotification,
  knowsMethod,
  type McpAnswer,
  type McpContext,
} from "../mcp/gateway.ts";
import { PROTOCOL_VERSIONS, startSession } from "../mcp/initialize.ts";
import { type McpServer, mcpServersFor } from "../mcp/registry.ts";
import { methodNotFound, parseClientMessage, type RpcRequest, UpstreamRpcError } from "../mcp/rpc.ts";
import { type GatewaySession, openSession } from "../mcp/session.ts";
import { endUpstreamSession } from "../mcp/upstream.ts";
import { doc } from "../openapi/doc.ts";
import { endpoint } from "./endpoint.ts";
import { resourceMetadataHint } from "./mcp-oauth.ts";

export const mcpRoutes = new Hono<GatewayEnv>();

mcpRoutes.use(resourceMetadataHint);
mcpRoutes.use(endpoint({ errors: "mcp", gated: false, pathParam: "server" }));
// A guest of an app without a backend calls models, not the organization's tools (which run on its credentials).
mcpRoutes.use(async (c, next) => {
  if (c.get("principal").type === "guest") {
    throw new GatewayError(403, "permission", "A guest token calls models only: MCP servers need a key or a user's token.", {
      code: "guest_not_allowed",
    });
  }
  await next();
});

const callerOf = (principal: Principal) => `${principal.type}:${principal.id}`;

const serverNotFound = (name: string) =>
  new GatewayError(404, "not_found", `No MCP server \`${name}\` for this caller.`, { code: "mcp_server_not_found" });

const sessionGone = () =>
  new GatewayError(404, "not_found", "Unknown or expired Mcp-Session-Id: start a new session with `initialize`.", {
    code: "mcp_session_not_found",
  });

/** The servers as this caller reaches them: one that acts per user, with the caller's own token. */
const reachedBy = (c: GatewayContext, servers: McpServer[]) =>
  asCaller(servers, {
    services: c.get("services"),
    config: c.get("config"),
    principal: c.get("principal"),
    origin: new URL(c.req.url).origin,
  });

/** The servers a request may reach: every one the caller may use, or the one the path names. */
async function serversOf(c: GatewayContext, scope: string | undefined): Promise<McpServer[]> {
  const all = await mcpServersFor(c.get("services"), c.get("config"));
  const access = mcpAccess(principalPolicy(c.get("principal")));
  if (scope === undefined)
    return reachedBy(
      c,
      [...all.values()].filter((server) => access.server(server.name)),
    );
  const server = all.get(scope);
  if (!server || !access.server(scope)) throw serverNotFound(scope);
  return reachedBy(c, [server]);
}

const SESSION_REQUIRED =
  "Invalid `method`: only `initialize` may be sent without the `mcp-session-id` header; start a session with it.";

async function sessionOf(c: GatewayContext, scope: string, missing = SESSION_REQUIRED): Promise<GatewaySession> {
  const header = c.req.header("mcp-session-id");
  if (!header) throw badRequest(missing, "mcp-session-id", "mcp_session_required");
  const session = await openSession(c.get("config").adminKey, header);
  if (!session || session.caller !== callerOf(c.get("principal")) || session.scope !== scope) throw sessionGone();
  return session;
}

function contextOf(c: GatewayContext, servers: McpServer[], aggregate: boolean): Omit<McpContext, "session"> {
  return {
    services: c.get("services"),
    config: c.get("config"),
    principal: c.get("principal"),
    requestId: c.get("requestId"),
    servers,
    aggregate,
    access: mcpAccess(principalPolicy(c.get("principal"))),
    defer: (work) => c.executionCtx.waitUntil(work),
  };
}

const sseEvent = (message: unknown) => `event: message\ndata: ${JSON.stringify(message)}\n\n`;

function reply(c: GatewayContext, answer: McpAnswer, extra: Record<string, string> = {}): Response {
  const headers = { ...answer.headers, ...extra };
  if (answer.related.length > 0 && (c.req.header("accept") ?? "").includes("text/event-stream")) {
    const body = [...answer.related, answer.response].map(sseEvent).join("");
    return c.body(body, 200, { ...headers, "content-type": "text/event-stream", "cache-control": "no-cache" });
  }
  return c.json(answer.response, 200, headers);
}

/** A failure while answering a request, as a JSON-RPC error for that request's id. */
function failed(c: GatewayContext, request: RpcRequest, error: unknown): Response {
  if (error instanceof UpstreamRpcError) return c.json({ jsonrpc: "2.0", id: request.id, error: error.rpc }, 200);
  if (!(error instanceof GatewayError)) throw error;
  // A server that failed or timed out is the answer to this request, not a failure of the transport.
  // So is a server the caller has yet to connect their own account to.
  const answered = error.kind === "upstream" || error.kind === "timeout" || awaitsConnection(error);
  const status = answered ? 200 : error.status;
  return c.json(jsonRpcError(error, request.id), status as 200, error.headers);
}

function handlePost(scoped: boolean) {
  return async (c: GatewayContext) => {
    const scope = scoped ? c.req.param("server") : undefined;
    const version = c.req.header("mcp-protocol-version");
    if (version && !PROTOCOL_VERSIONS.includes(version)) {
      // The transport requires a 400 here; clients that probed with a newer version fall back to `initialize`.
      throw badRequest(
        `Unsupported MCP-Protocol-Version \`${version}\`: this gateway speaks ${PROTOCOL_VERSIONS.join(", ")}.`,
        "mcp-protocol-version",
        "unsupported_protocol_version",
      );
    }
    const parsed = parseClientMessage(await readJsonBody(c.req.raw, c.get("config").maxBodyBytes));
    if (parsed.kind === "notification" && !isClientNotification(parsed.message.method)) {
      // A notification gets no answer, so the invalid request is refused over HTTP (-32600), as a batch is.
      throw badRequest(
        `Invalid \`id\`: \`${parsed.message.method}\` is a request, and needs an id; only \`notifications/…\` are sent without one.`,
        "id",
        "invalid_request",
      );
    }
    const servers = await serversOf(c, scope);
    const route = scope ?? "*";
    if (parsed.kind === "request" && parsed.message.method === "initialize") {
      const ctx = contextOf(c, servers, !scoped);
      try {
        const started = await startSession(ctx, parsed.message, { caller: callerOf(c.get("principal")), scope: route });
        return reply(c, started.answer, { "mcp-session-id": started.sessionId });
      } catch (error) {
        return failed(c, parsed.message, error);
      }
    }
    // A method this protocol lacks (a newer client's `server/discover` probe) is "method not found", session or none.
    if (parsed.kind === "request" && !knowsMethod(parsed.message.method) && !c.req.header("mcp-session-id")) {
      return failed(c, parsed.message, methodNotFound(parsed.message.method));
    }
    const ctx: McpContext = { ...contextOf(c, servers, !scoped), session: await sessionOf(c, route) };
    if (parsed.kind !== "request") {
      ctx.defer(forwardFromClient(ctx, parsed.message as unknown as Record<string, unknown>));
      return c.body(null, 202);
    }
    try {
      return reply(c, await answerRequest(ctx, parsed.message));
    } catch (error) {
      return failed(c, parsed.message, error);
    }
  };
}

/** The gateway opens no stream of its own: servers' messages reach the client only with the answers they come with. */
function noStream(c: GatewayContext): Response {
  const error = new GatewayError(
    405,
    "invalid_request",
    "This endpoint opens no server-sent event stream: POST messages to it.",
    {
      code: "method_not_allowed",
    },
  );
  return c.json(jsonRpcError(error), 405, { allow: "POST, DELETE" });
}

function handleDelete(scoped: boolean) {
  return async (c: GatewayContext) => {
    const scope = scoped ? c.req.param("server") : undefined;
    const servers = await serversOf(c, scope);
    const session = await sessionOf(c, scope ?? "*", "The `mcp-session-id` header names the session to end.");
    for (const server of servers) {
      const upstream = session.upstream[server.name];
      if (upstream) c.executionCtx.waitUntil(endUpstreamSession(server, upstream));
    }
    return c.body(null, 204);
  };
}

const postDoc = (summary: string) =>
  doc(
    DESCRIBE && {
      summary,
      description:
        "MCP Streamable HTTP: one JSON-RPC message per POST. `initialize` answers with an `Mcp-Session-Id` to send on every later request.",
      response: { description: "A JSON-RPC response (JSON, or server-sent events), or 202 for a notification", streams: true },
    },
  );

mcpRoutes.post("/", postDoc("MCP: the tools, prompts and resources of every MCP server the caller may use"), handlePost(false));
mcpRoutes.get("/", doc(DESCRIBE && { summary: "MCP: no server-sent event stream is offered (405)" }), noStream);
mcpRoutes.delete("/", doc(DESCRIBE && { summary: "MCP: ends a session" }), handleDelete(false));
mcpRoutes.post("/:server", postDoc("MCP: one MCP server alone, its names as it gives them"), handlePost(true));
mcpRoutes.get("/:server", doc(DESCRIBE && { summary: "MCP: no server-sent event stream is offered (405)" }), noStream);
mcpRoutes.delete("/:server", doc(DESCRIBE && { summary: "MCP: ends a session with one server" }), handleDelete(true));
