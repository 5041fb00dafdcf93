// One message to one upstream MCP server over Streamable HTTP: posted with
// the gateway's credential for it and the upstream session, answered as JSON
// or as server-sent events (read until the response to our request arrives).
// Every call is bounded by the server's timeout, reading included: a server
// that is down or slow becomes a GatewayError the caller gets as a JSON-RPC
// error, never a hang.
import { GatewayError } from "../http/errors.ts";
import { forgetServiceToken, serviceToken } from "./client-credentials.ts";
import type { McpServer } from "./registry.ts";
import type { JsonRpcId, RpcResponse } from "./rpc.ts";

export interface UpstreamSession {
  /** The upstream's `Mcp-Session-Id`; null for a server that keeps no sessions. */
  id: string | null;
  protocolVersion: string;
}

export interface UpstreamReply {
  /** The response to the request posted; absent for a notification or response posted. */
  response?: RpcResponse;
  /** What the server sent before it (progress, log messages, its own requests), in order. */
  related: Record<string, unknown>[];
  /** The `Mcp-Session-Id` it answered with, if any. */
  sessionId: string | null;
  /** Bytes of the answer's body. */
  bytes: number;
}

/** The upstream no longer knows the session (HTTP 404): start a new one. */
export class UpstreamSessionGone extends Error {}

const failure = (server: McpServer, message: string, cause?: unknown) =>
  new GatewayError(502, "upstream", `MCP server \`${server.name}\` ${message}`, { code: "mcp_upstream_error", cause });

const timedOut = (server: McpServer) =>
  new GatewayError(504, "timeout", `MCP server \`${server.name}\` did not answer within ${server.timeoutMs} ms.`, {
    code: "mcp_upstream_timeout",
  });

/** The JSON-RPC messages of an SSE body, up to and including the response to `id`. */
async function readEventStream(
  body: ReadableStream<Uint8Array>,
  id: JsonRpcId | undefined,
): Promise<{ messages: Record<string, unknown>[]; bytes: number }> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  const messages: Record<string, unknown>[] = [];
  let buffer = "";
  let bytes = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.length;
      buffer += value;
      const events = buffer.split(/\r?\n\r?\n/);
      buffer = events.pop() ?? "";
      for (const event of events) {
        const data = event
          .split(/\r?\n/)
          .filter((line) => line.startsWith("data:"))
          .map((line) => line.slice(5).replace(/^ /, ""))
          .join("\n");
        if (!data) continue;
        const message = JSON.parse(data) as Record<string, unknown>;
        messages.push(message);
        // The answer to our request ends what we need; the server may keep the stream open for others.
        if (id !== undefined && message.id === id && !("method" in message)) return { messages, bytes };
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  return { messages, bytes };
}

/** The gateway's credential for the server (its own OAuth token, for client credentials), or the caller's own. */
async function headersFor(server: McpServer): Promise<Record<string, string>> {
  const { clientCredentials } = server;
  if (clientCredentials) {
    return { ...server.headers, authorization: `Bearer ${await serviceToken({ ...server, clientCredentials })}` };
  }
  return server.callerHeaders ? { ...server.headers, ...(await server.callerHeaders()) } : server.headers;
}

/** A 401 to the gateway's own token: it is dropped, and the message is sent once more with a new one. */
async function refusedServiceToken(server: McpServer, headers: Record<string, string>): Promise<boolean> {
  const { clientCredentials } = server;
  const token = /^Bearer (.+)$/.exec(headers.authorization ?? "")?.[1];
  if (!clientCredentials || !token) return false;
  forgetServiceToken({ ...server, clientCredentials }, token);
  return true;
}

/** Posts one JSON-RPC message to `server`; `id` is the request's, to find its response. */
export async function postUpstream(
  server: McpServer,
  message: Record<string, unknown>,
  options: { session?: UpstreamSession; requestId: string; retried?: boolean },
): Promise<UpstreamReply> {
  const id = "id" in message && "method" in message ? (message.id as JsonRpcId) : undefined;
  const signal = AbortSignal.timeout(server.timeoutMs);
  try {
    const credential = await headersFor(server);
    const response = await fetch(server.url, {
      method: "POST",
      headers: {
        ...credential,
        accept: "application/json, text/event-stream",
        "content-type": "application/json",
        "x-request-id": options.requestId,
        ...(options.session?.id && { "mcp-session-id": options.session.id }),
        ...(options.session && { "mcp-protocol-version": options.session.protocolVersion }),
      },
      body: JSON.stringify(message),
      signal,
    });
    const sessionId = response.headers.get("mcp-session-id");
    if (response.status === 404 && options.session?.id) {
      await response.body?.cancel();
      throw new UpstreamSessionGone();
    }
    if (!response.ok) {
      await response.body?.cancel();
      if (response.status === 401 && !options.retried && (await refusedServiceToken(server, credential))) {
        return await postUpstream(server, message, { ...options, retried: true });
      }
      if (response.status === 401) await server.callerRefused?.();
      throw failure(server, `answered HTTP ${response.status}.`);
    }
    if (response.status === 202 || id === undefined) {
      await response.body?.cancel();
      return { related: [], sessionId, bytes: 0 };
    }
    const type = response.headers.get("content-type") ?? "";
    let messages: Record<string, unknown>[];
    let bytes: number;
    if (type.includes("text/event-stream") && response.body) {
      ({ messages, bytes } = await readEventStream(response.body, id));
    } else {
      const text = await response.text();
      bytes = text.length;
      const parsed = JSON.parse(text) as unknown;
      messages = (Array.isArray(parsed) ? parsed : [parsed]) as Record<string, unknown>[];
    }
    const answer = messages.find((m) => m.id === id && !("method" in m));
    if (!answer) throw failure(server, "ended its answer without a JSON-RPC response.");
    return { response: answer as unknown as RpcResponse, related: messages.filter((m) => m !== answer), sessionId, bytes };
  } catch (error) {
    if (error instanceof GatewayError || error instanceof UpstreamSessionGone) throw error;
    if (signal.aborted) throw timedOut(server);
    if (error instanceof SyntaxError) throw failure(server, "sent a body that is not JSON-RPC.", error);
    throw failure(server, "cannot be reached.", error);
  }
}

/** Ends an upstream session (a DELETE, as the transport says); failures are of no consequence. */
export async function endUpstreamSession(server: McpServer, session: UpstreamSession): Promise<void> {
  if (!session.id) return;
  try {
    const response = await fetch(server.url, {
      method: "DELETE",
      headers: { ...(await headersFor(server)), "mcp-session-id": session.id, "mcp-protocol-version": session.protocolVersion },
      signal: AbortSignal.timeout(server.timeoutMs),
    });
    await response.body?.cancel();
  } catch {
    // The session expires on its own.
  }
}
