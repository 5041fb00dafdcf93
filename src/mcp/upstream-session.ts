// Sessions with upstream servers: opened by `initialize` and
// `notifications/initialized`, as the protocol requires, and used for one
// message. A server missing from the gateway session (down when it began,
// registered since, or it forgot the session) gets a fresh session for just
// this request, ended after it.
import { GatewayError } from "../http/errors.ts";
import type { McpServer } from "./registry.ts";
import { endUpstreamSession, postUpstream, type UpstreamReply, type UpstreamSession, UpstreamSessionGone } from "./upstream.ts";

/** What the caller's client said in its `initialize`, passed on to the servers. */
export interface ClientHello {
  protocolVersion: string;
  capabilities: Record<string, unknown>;
  clientInfo: Record<string, unknown>;
}

export interface OpenedUpstream {
  session: UpstreamSession;
  /** The server's `initialize` result: its info, capabilities and instructions. */
  result: Record<string, unknown>;
}

export interface UpstreamCaller {
  requestId: string;
  hello: ClientHello;
  /** Work to finish after the answer (ending a session opened for one request). */
  defer(work: Promise<unknown>): void;
}

export async function openUpstream(server: McpServer, caller: UpstreamCaller): Promise<OpenedUpstream> {
  const reply = await postUpstream(
    server,
    { jsonrpc: "2.0", id: 0, method: "initialize", params: caller.hello },
    { requestId: caller.requestId },
  );
  const result = reply.response?.result as Record<string, unknown> | undefined;
  if (!result || reply.response?.error) {
    throw new GatewayError(
      502,
      "upstream",
      `MCP server \`${server.name}\` refused to initialize: ${reply.response?.error?.message ?? "no result"}`,
      {
        code: "mcp_upstream_error",
      },
    );
  }
  const session: UpstreamSession = {
    id: reply.sessionId,
    protocolVersion: typeof result.protocolVersion === "string" ? result.protocolVersion : caller.hello.protocolVersion,
  };
  await postUpstream(server, { jsonrpc: "2.0", method: "notifications/initialized" }, { session, requestId: caller.requestId });
  return { session, result };
}

/** Sends one message to `server` in the caller's session with it, or in one opened for this message. */
export async function sendUpstream(
  server: McpServer,
  message: Record<string, unknown>,
  caller: UpstreamCaller & { stored: UpstreamSession | undefined },
): Promise<UpstreamReply> {
  if (caller.stored) {
    try {
      return await postUpstream(server, message, { session: caller.stored, requestId: caller.requestId });
    } catch (error) {
      if (!(error instanceof UpstreamSessionGone)) throw error;
    }
  }
  const { session } = await openUpstream(server, caller);
  try {
    return await postUpstream(server, message, { session, requestId: caller.requestId });
  } finally {
    caller.defer(endUpstreamSession(server, session));
  }
}
