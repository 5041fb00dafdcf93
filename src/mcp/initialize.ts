// `initialize`: the gateway opens a session with each of the request's
// servers at once (each bounded by its timeout), and answers with its own
// session, which carries theirs. On `/mcp` a server that fails to start is
// left out of the session (its tools are tried again, one request at a time);
// on `/mcp/{server}` its failure is the answer.

import { awaitsConnection } from "./connections/tokens.ts";
import { GATEWAY_INFO, type McpAnswer, type McpContext } from "./gateway.ts";
import { type RpcRequest, rpcResult } from "./rpc.ts";
import { type GatewaySession, sealSession } from "./session.ts";
import type { UpstreamSession } from "./upstream.ts";
import { type ClientHello, type OpenedUpstream, openUpstream } from "./upstream-session.ts";

/** The protocol versions the gateway speaks, newest first. */
export const PROTOCOL_VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

export interface StartedSession {
  answer: McpAnswer;
  /** The gateway's `Mcp-Session-Id`. */
  sessionId: string;
}

export async function startSession(
  ctx: Omit<McpContext, "session">,
  request: RpcRequest,
  session: Pick<GatewaySession, "caller" | "scope">,
): Promise<StartedSession> {
  const asked = request.params?.protocolVersion;
  const protocolVersion =
    typeof asked === "string" && PROTOCOL_VERSIONS.includes(asked) ? asked : (PROTOCOL_VERSIONS[0] as string);
  const hello: ClientHello = {
    protocolVersion,
    // On `/mcp` the servers' own requests (sampling, elicitation) could not be routed back: the client's abilities are not offered.
    capabilities: ctx.aggregate ? {} : ((request.params?.capabilities as Record<string, unknown> | undefined) ?? {}),
    clientInfo: (request.params?.clientInfo as Record<string, unknown> | undefined) ?? GATEWAY_INFO,
  };
  const opened = await Promise.allSettled(
    ctx.servers.map((server) => openUpstream(server, { requestId: ctx.requestId, hello, defer: ctx.defer })),
  );
  const upstream: Record<string, UpstreamSession> = {};
  const started: [string, OpenedUpstream][] = [];
  for (const [i, result] of opened.entries()) {
    const name = ctx.servers[i]?.name as string;
    if (result.status === "fulfilled") {
      upstream[name] = result.value.session;
      started.push([name, result.value]);
    } else if (!ctx.aggregate) {
      throw result.reason;
    } else if (!awaitsConnection(result.reason)) {
      console.warn(`sluice: ${ctx.requestId} mcp server ${name} did not start: ${(result.reason as Error).message}`);
    }
  }
  const sessionId = await sealSession(ctx.config.adminKey, { ...session, protocolVersion, upstream });
  const single = started[0]?.[1].result;
  const result = ctx.aggregate
    ? {
        protocolVersion,
        capabilities: { tools: {}, prompts: {}, resources: {}, logging: {} },
        serverInfo: GATEWAY_INFO,
        instructions: instructionsOf(started),
      }
    : { ...single, protocolVersion };
  return { answer: { response: rpcResult(request.id, result), related: [], headers: {} }, sessionId };
}

function instructionsOf(started: [string, OpenedUpstream][]): string {
  const parts = started
    .filter(([, opened]) => typeof opened.result.instructions === "string")
    .map(([name, opened]) => `## ${name} (tools named ${name}__*)\n${opened.result.instructions as string}`);
  return [
    "Tools, prompts and resources of several MCP servers, behind Sluice. Names start with their server's name and `__`.",
    ...parts,
  ].join("\n\n");
}
