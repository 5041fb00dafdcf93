// JSON-RPC 2.0 as MCP uses it: the messages a client posts, told apart
// (a request has a method and an id, a notification a method only, a
// response an id and a result or error), and the gateway's own errors.
import type { JsonRpcId } from "../formats/mcp/errors.ts";
import { badRequest, firstIssue, GatewayError } from "../http/errors.ts";
import * as z from "../zod.ts";

export type { JsonRpcId } from "../formats/mcp/errors.ts";

export interface RpcRequest {
  jsonrpc: "2.0";
  id: string | number;
  method: string;
  params?: Record<string, unknown>;
}
export interface RpcNotification {
  jsonrpc: "2.0";
  method: string;
  params?: Record<string, unknown>;
}
export interface RpcResponse {
  jsonrpc: "2.0";
  id: JsonRpcId;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

export type ClientMessage =
  | { kind: "request"; message: RpcRequest }
  | { kind: "notification"; message: RpcNotification }
  | { kind: "response"; message: RpcResponse };

const id = z.union([z.string().check(z.maxLength(1000)), z.number().check(z.int())]);
const params = z.optional(z.record(z.string(), z.unknown()));
const request = z.looseObject({
  jsonrpc: z.literal("2.0"),
  id,
  method: z.string().check(z.minLength(1), z.maxLength(200)),
  params,
});
const notification = z.looseObject({
  jsonrpc: z.literal("2.0"),
  method: z.string().check(z.minLength(1), z.maxLength(200)),
  params,
});
const response = z.looseObject({
  jsonrpc: z.literal("2.0"),
  id: z.nullable(id),
  result: z.optional(z.unknown()),
  error: z.optional(z.looseObject({ code: z.number(), message: z.string() })),
});

const initializeParams = z.looseObject({
  protocolVersion: z.optional(z.string().check(z.maxLength(100))),
  capabilities: z.optional(z.record(z.string(), z.unknown())),
  clientInfo: z.optional(
    z.looseObject({ name: z.string().check(z.maxLength(1000)), version: z.optional(z.string().check(z.maxLength(1000))) }),
  ),
});

/** The issue zod found, as the caller's 400 naming the field. */
function refusal(error: z.core.$ZodError, under: PropertyKey[] = []): GatewayError {
  const { param, message } = firstIssue(error, under);
  return badRequest(param ? `Invalid \`${param}\`: ${message}` : `Invalid message: ${message}`, param, "invalid_request");
}

/** What a client posted, as one JSON-RPC message; a batch or anything else is the caller's 400, naming what is wrong. */
export function parseClientMessage(body: unknown): ClientMessage {
  if (Array.isArray(body)) {
    throw badRequest("JSON-RPC batches are not supported: send one message per request.", undefined, "invalid_request");
  }
  if (!body || typeof body !== "object") throw badRequest("Invalid message: expected a JSON-RPC 2.0 object.");
  if ("method" in body) {
    if ("id" in body) {
      const parsed = request.safeParse(body);
      if (!parsed.success) throw refusal(parsed.error);
      if (parsed.data.method === "initialize") {
        const hello = initializeParams.safeParse(parsed.data.params ?? {});
        if (!hello.success) throw refusal(hello.error, ["params"]);
      }
      return { kind: "request", message: parsed.data as RpcRequest };
    }
    const parsed = notification.safeParse(body);
    if (!parsed.success) throw refusal(parsed.error);
    if (parsed.data.method === "initialize") {
      throw badRequest("Invalid `id`: `initialize` is a request, and needs an id.", "id", "invalid_request");
    }
    return { kind: "notification", message: parsed.data as RpcNotification };
  }
  const parsed = response.safeParse(body);
  if (!parsed.success) throw refusal(parsed.error);
  if (parsed.data.result === undefined && !parsed.data.error) {
    throw badRequest("Invalid `method`: a request or notification needs one (a response, a `result` or an `error`).", "method");
  }
  return { kind: "response", message: parsed.data as RpcResponse };
}

export const rpcResult = (requestId: JsonRpcId, result: unknown): RpcResponse => ({ jsonrpc: "2.0", id: requestId, result });

export const methodNotFound = (method: string) =>
  new GatewayError(200, "not_found", `Method not found: ${method}`, { code: "method_not_found" });

export const invalidParams = (message: string) => new GatewayError(200, "invalid_request", message, { code: "invalid_params" });

/** A server's own JSON-RPC error, passed to the client as it was. */
export class UpstreamRpcError extends GatewayError {
  constructor(readonly rpc: { code: number; message: string; data?: unknown }) {
    super(200, "upstream", rpc.message, { code: "mcp_upstream_rpc_error" });
  }
}
