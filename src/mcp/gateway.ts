// The MCP methods `/mcp` answers. Lists (tools, prompts, resources) fan out
// to the caller's servers and come back merged, namespaced and filtered by
// what the caller may use; a call or read goes to the one server its name
// points at; anything else `/mcp/{server}` passes to its server as it is.
import type { Principal } from "../auth/principal.ts";
import type { Config } from "../config/index.ts";
import type { Services } from "../services.ts";
import type { McpAccess } from "./allowlist.ts";
import { awaitsConnection } from "./connections/tokens.ts";
import { admitToolCall, recordToolCall, reserveToolPrice, type ToolCallRecord } from "./metering.ts";
import { namespaced, namespacedUri, splitName, splitUri } from "./names.ts";
import type { McpServer } from "./registry.ts";
import { invalidParams, methodNotFound, type RpcRequest, type RpcResponse, rpcResult, UpstreamRpcError } from "./rpc.ts";
import type { GatewaySession } from "./session.ts";
import type { UpstreamReply } from "./upstream.ts";
import { type ClientHello, sendUpstream } from "./upstream-session.ts";

export interface McpContext {
  services: Services;
  config: Config;
  principal: Principal;
  requestId: string;
  /** The servers this request may reach: every one the caller may use on `/mcp`, one on `/mcp/{server}`. */
  servers: McpServer[];
  /** `/mcp` merges its servers under namespaced names; `/mcp/{server}` shows one server as it is. */
  aggregate: boolean;
  access: McpAccess;
  session: GatewaySession;
  defer(work: Promise<unknown>): void;
}

export interface McpAnswer {
  response: RpcResponse;
  /** Messages the servers sent before their answers (progress, logs), for a client that reads a stream. */
  related: Record<string, unknown>[];
  headers: Record<string, string>;
}

export const GATEWAY_INFO = { name: "sluice", version: "1.0.0" };

/** How many pages of one server's list are read before the rest is left out. */
const MAX_PAGES = 20;

function send(ctx: McpContext, server: McpServer, message: Record<string, unknown>): Promise<UpstreamReply> {
  const hello: ClientHello = { protocolVersion: ctx.session.protocolVersion, capabilities: {}, clientInfo: GATEWAY_INFO };
  return sendUpstream(server, message, {
    requestId: ctx.requestId,
    hello,
    defer: ctx.defer,
    stored: ctx.session.upstream[server.name],
  });
}

/** The result of an upstream reply, or its JSON-RPC error passed on as the gateway's. */
function resultOf(reply: UpstreamReply): Record<string, unknown> {
  const error = reply.response?.error;
  if (error) throw new UpstreamRpcError(error);
  return (reply.response?.result ?? {}) as Record<string, unknown>;
}

/** Every page of one server's list. */
async function listOf(ctx: McpContext, server: McpServer, method: string, key: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let cursor: unknown;
  for (let page = 0; page < MAX_PAGES; page++) {
    const result = resultOf(
      await send(ctx, server, { jsonrpc: "2.0", id: `sluice-${page}`, method, ...(cursor ? { params: { cursor } } : {}) }),
    );
    items.push(...((result[key] as Record<string, unknown>[] | undefined) ?? []));
    cursor = result.nextCursor;
    if (typeof cursor !== "string" || !cursor) break;
  }
  return items;
}

/** One list across the request's servers; on `/mcp` a server that fails is left out, on `/mcp/{server}` it is the error. */
async function mergedList(
  ctx: McpContext,
  method: string,
  key: string,
  rename: (server: McpServer, item: Record<string, unknown>) => Record<string, unknown> | undefined,
): Promise<Record<string, unknown>[]> {
  const lists = await Promise.allSettled(ctx.servers.map((server) => listOf(ctx, server, method, key)));
  const merged: Record<string, unknown>[] = [];
  for (const [i, list] of lists.entries()) {
    const server = ctx.servers[i] as McpServer;
    if (list.status === "rejected") {
      if (!ctx.aggregate) throw list.reason;
      if (!awaitsConnection(list.reason))
        console.warn(`sluice: ${ctx.requestId} mcp ${method} of ${server.name} failed: ${(list.reason as Error).message}`);
      continue;
    }
    for (const item of list.value) {
      const renamed = rename(server, item);
      if (renamed) merged.push(renamed);
    }
  }
  return merged;
}

/** The server and its own name for a tool or prompt the caller named; undefined if there is none. */
function target(ctx: McpContext, name: unknown): { server: McpServer; name: string; full: string } | undefined {
  if (typeof name !== "string") return undefined;
  const [serverName, own] = ctx.aggregate ? (splitName(name) ?? []) : [ctx.servers[0]?.name, name];
  const server = ctx.servers.find((s) => s.name === serverName);
  return server && own ? { server, name: own, full: namespaced(server.name, own) } : undefined;
}

const shownName = (ctx: McpContext, server: McpServer, name: unknown) =>
  ctx.aggregate ? namespaced(server.name, String(name)) : String(name);
const shownUri = (ctx: McpContext, server: McpServer, uri: unknown) =>
  ctx.aggregate ? namespacedUri(server.name, String(uri)) : String(uri);

async function callTool(ctx: McpContext, request: RpcRequest): Promise<McpAnswer> {
  const tool = target(ctx, request.params?.name);
  if (!tool || !ctx.access.tool(tool.full)) throw invalidParams(`Unknown tool: ${String(request.params?.name)}`);
  const started = performance.now();
  const upstream = { ...request, params: { ...request.params, name: tool.name } };
  const bytesIn = JSON.stringify(upstream).length;
  const record = (fields: Pick<ToolCallRecord, "status" | "error" | "bytesOut" | "costUsd">) =>
    ctx.defer(
      recordToolCall(ctx.services, {
        requestId: ctx.requestId,
        server: tool.server.name,
        tool: tool.name,
        principal: ctx.principal,
        latencyMs: performance.now() - started,
        bytesIn,
        ...fields,
      }),
    );
  let headers: Record<string, string>;
  let charge: (usd: number) => void;
  try {
    headers = await admitToolCall(ctx.services, ctx.principal);
    charge = await reserveToolPrice({ ...ctx, price: tool.server.pricePerCallUsd });
  } catch (error) {
    record({ status: "rate_limited", error: (error as Error).message, bytesOut: 0, costUsd: 0 });
    throw error;
  }
  let reply: UpstreamReply;
  try {
    reply = await send(ctx, tool.server, upstream);
  } catch (error) {
    charge(0);
    record({ status: "error", error: (error as Error).message, bytesOut: 0, costUsd: 0 });
    throw error;
  }
  const response = reply.response as RpcResponse;
  const failed = (response.result as { isError?: unknown } | undefined)?.isError === true;
  const costUsd = response.error ? 0 : (tool.server.pricePerCallUsd ?? 0);
  charge(costUsd);
  record({
    status: response.error ? "error" : failed ? "tool_error" : "ok",
    error: response.error?.message,
    bytesOut: reply.bytes,
    costUsd,
  });
  return { response: { ...response, id: request.id }, related: relayed(ctx, reply), headers };
}

/** What a server sent before its answer that the client may see: on `/mcp` notifications only (its requests could not be answered). */
const relayed = (ctx: McpContext, reply: UpstreamReply) =>
  ctx.aggregate ? reply.related.filter((message) => !("id" in message)) : reply.related;

async function getPrompt(ctx: McpContext, request: RpcRequest): Promise<McpAnswer> {
  const prompt = target(ctx, request.params?.name);
  if (!prompt) throw invalidParams(`Unknown prompt: ${String(request.params?.name)}`);
  const reply = await send(ctx, prompt.server, { ...request, params: { ...request.params, name: prompt.name } });
  return { response: { ...(reply.response as RpcResponse), id: request.id }, related: relayed(ctx, reply), headers: {} };
}

async function readResource(ctx: McpContext, request: RpcRequest): Promise<McpAnswer> {
  const uri = request.params?.uri;
  const [serverName, own] = ctx.aggregate
    ? (splitUri(String(uri)) ?? [])
    : [ctx.servers[0]?.name, typeof uri === "string" ? uri : undefined];
  const server = ctx.servers.find((s) => s.name === serverName);
  if (!server || !own) throw invalidParams(`Unknown resource: ${String(uri)}`);
  const reply = await send(ctx, server, { ...request, params: { ...request.params, uri: own } });
  const result = resultOf(reply);
  const contents = ((result.contents as Record<string, unknown>[] | undefined) ?? []).map((content) => ({
    ...content,
    ...(content.uri !== undefined && { uri: shownUri(ctx, server, content.uri) }),
  }));
  return { response: rpcResult(request.id, { ...result, contents }), related: relayed(ctx, reply), headers: {} };
}

type Handler = (ctx: McpContext, request: RpcRequest) => Promise<McpAnswer>;
const answered = (request: RpcRequest, result: unknown): McpAnswer => ({
  response: rpcResult(request.id, result),
  related: [],
  headers: {},
});

const HANDLERS: Record<string, Handler> = {
  ping: async (_ctx, request) => answered(request, {}),
  "tools/list": async (ctx, request) => {
    const tools = await mergedList(ctx, "tools/list", "tools", (server, tool) =>
      ctx.access.tool(namespaced(server.name, String(tool.name)))
        ? { ...tool, name: shownName(ctx, server, tool.name) }
        : undefined,
    );
    return answered(request, { tools });
  },
  "tools/call": callTool,
  "prompts/list": async (ctx, request) => {
    const prompts = await mergedList(ctx, "prompts/list", "prompts", (server, prompt) => ({
      ...prompt,
      name: shownName(ctx, server, prompt.name),
    }));
    return answered(request, { prompts });
  },
  "prompts/get": getPrompt,
  "resources/list": async (ctx, request) => {
    const resources = await mergedList(ctx, "resources/list", "resources", (server, resource) => ({
      ...resource,
      uri: shownUri(ctx, server, resource.uri),
    }));
    return answered(request, { resources });
  },
  "resources/templates/list": async (ctx, request) => {
    const resourceTemplates = await mergedList(ctx, "resources/templates/list", "resourceTemplates", (server, template) => ({
      ...template,
      uriTemplate: shownUri(ctx, server, template.uriTemplate),
    }));
    return answered(request, { resourceTemplates });
  },
  "resources/read": readResource,
  // Each server logs at the level asked; their log messages reach the client with the answers they come with.
  "logging/setLevel": async (ctx, request) => {
    await Promise.allSettled(ctx.servers.map((server) => send(ctx, server, request as unknown as Record<string, unknown>)));
    return answered(request, {});
  },
};

// Methods of the handshake-era protocol that `/mcp/{server}` passes on to its server within a session.
const PASSED_ON = new Set([
  "completion/complete",
  "resources/subscribe",
  "resources/unsubscribe",
  "tasks/get",
  "tasks/list",
  "tasks/result",
  "tasks/cancel",
]);

/** Whether a method is one this gateway answers or passes on once a session exists; others are -32601 even without one. */
export const knowsMethod = (method: string) => method === "initialize" || method in HANDLERS || PASSED_ON.has(method);

/** The answer to one request; an upstream's JSON-RPC error comes back as it was. */
export async function answerRequest(ctx: McpContext, request: RpcRequest): Promise<McpAnswer> {
  const handler = HANDLERS[request.method];
  if (handler) return await handler(ctx, request);
  // `/mcp/{server}` passes on what it does not interpret (completions, subscriptions…); `/mcp` cannot know where it goes.
  const only = ctx.servers[0];
  if (ctx.aggregate || !only) throw methodNotFound(request.method);
  const reply = await send(ctx, only, request as unknown as Record<string, unknown>);
  return { response: { ...(reply.response as RpcResponse), id: request.id }, related: reply.related, headers: {} };
}

/**
 * Whether a message without an id is a notification the servers may be told: MCP's are all `notifications/…`.
 * Any other method sent without an id is a request dressed as one, which would skip the allowlists, limits and
 * ledger that requests pass through.
 */
export const isClientNotification = (method: string) => method.startsWith("notifications/");

/** A notification or a response from the client, passed to the servers of the session after the 202. */
export async function forwardFromClient(ctx: McpContext, message: Record<string, unknown>): Promise<void> {
  // The gateway told each server it was initialized when the session began.
  if (message.method === "notifications/initialized") return;
  // The route refuses these; nothing but a notification or a response ever reaches a server from here.
  if (typeof message.method === "string" && !isClientNotification(message.method)) return;
  // A response answers a server's request, which only `/mcp/{server}` relays.
  if (!("method" in message) && ctx.aggregate) return;
  await Promise.allSettled(
    ctx.servers.filter((server) => ctx.session.upstream[server.name]).map((server) => send(ctx, server, message)),
  );
}
