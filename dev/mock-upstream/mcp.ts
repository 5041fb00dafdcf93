// Two MCP servers speaking Streamable HTTP, for the gateway's `/mcp` tests:
// `alpha` (a bearer token, sessions it enforces, JSON answers, and progress
// sent as server-sent events to a client that reads them) and `beta` (a
// static header, no sessions, every answer as server-sent events). Both
// refuse a request without their credential, as real servers do.
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { sendJson } from "../standins/http.ts";

export const MOCK_MCP_ALPHA_TOKEN = "mcp-alpha-secret-token";
export const MOCK_MCP_BETA_KEY = "mcp-beta-secret-key";

interface Message {
  jsonrpc: "2.0";
  id?: string | number;
  method?: string;
  params?: Record<string, unknown>;
}

type ToolResult = { content: { type: "text"; text: string }[]; isError?: boolean };

const text = (value: string, isError = false): ToolResult => ({
  content: [{ type: "text", text: value }],
  ...(isError && { isError }),
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const inputSchema = (properties: Record<string, unknown> = {}) => ({ type: "object", properties });

const ALPHA_TOOLS = [
  { name: "echo", description: "Says back `text`", inputSchema: inputSchema({ text: { type: "string" } }) },
  { name: "add", description: "Adds `a` and `b`", inputSchema: inputSchema({ a: { type: "number" }, b: { type: "number" } }) },
  { name: "delete_repo", description: "Deletes a repository (pretends to)", inputSchema: inputSchema() },
  { name: "fail", description: "Always fails, as a tool", inputSchema: inputSchema() },
  { name: "slow", description: "Answers after `ms` milliseconds", inputSchema: inputSchema({ ms: { type: "number" } }) },
  { name: "progress", description: "Reports progress, then answers", inputSchema: inputSchema() },
];
const BETA_TOOLS = [
  { name: "search", description: "Finds `query`", inputSchema: inputSchema({ query: { type: "string" } }) },
  { name: "delete_index", description: "Drops the index (pretends to)", inputSchema: inputSchema() },
];

function alphaTool(name: string, args: Record<string, unknown>): ToolResult | Promise<ToolResult> | undefined {
  switch (name) {
    case "echo":
      return text(String(args.text ?? ""));
    case "add":
      return text(String(Number(args.a) + Number(args.b)));
    case "delete_repo":
      return text("deleted");
    case "fail":
      return text("the tool failed", true);
    case "slow":
      return sleep(Number(args.ms ?? 1000)).then(() => text("slow answer"));
    case "progress":
      return text("done");
  }
  return undefined;
}

export function mockMcp() {
  /** Alpha's sessions: whether the client said it is initialized, and how many were ended. */
  const sessions = new Map<string, { initialized: boolean }>();
  let ended = 0;

  function answer(server: "alpha" | "beta", message: Message): unknown {
    const params = message.params ?? {};
    switch (message.method) {
      case "initialize":
        return {
          protocolVersion: String(params.protocolVersion ?? "2025-06-18"),
          capabilities: { tools: {}, prompts: {}, resources: {} },
          serverInfo: { name: `mock-${server}`, version: "1.0.0" },
          instructions: `The ${server} mock.`,
        };
      case "ping":
        return {};
      case "tools/list":
        // Alpha gives its tools on two pages, as servers with many do.
        if (server === "alpha" && params.cursor !== "page-2") return { tools: ALPHA_TOOLS.slice(0, 3), nextCursor: "page-2" };
        return { tools: server === "alpha" ? ALPHA_TOOLS.slice(3) : BETA_TOOLS };
      case "prompts/list":
        return server === "alpha"
          ? { prompts: [{ name: "greet", description: "A greeting", arguments: [{ name: "name", required: true }] }] }
          : { prompts: [] };
      case "prompts/get": {
        const name = String((params.arguments as Record<string, unknown> | undefined)?.name ?? "");
        if (params.name !== "greet") return { error: { code: -32602, message: `Unknown prompt: ${params.name}` } };
        return { messages: [{ role: "user", content: { type: "text", text: `Say hello to ${name}.` } }] };
      }
      case "resources/list":
        return { resources: [{ uri: `${server}://readme`, name: "readme", mimeType: "text/plain" }] };
      case "resources/templates/list":
        return { resourceTemplates: [{ uriTemplate: `${server}://docs/{page}`, name: "docs" }] };
      case "resources/read":
        return { contents: [{ uri: String(params.uri), mimeType: "text/plain", text: `contents of ${params.uri}` }] };
    }
    return { error: { code: -32601, message: `Method not found: ${message.method}` } };
  }

  async function handle(req: IncomingMessage, res: ServerResponse, server: string, body: string): Promise<void> {
    if (server !== "alpha" && server !== "beta") return sendJson(res, 404, { error: "no such MCP server" });
    const authorized =
      server === "alpha"
        ? req.headers.authorization === `Bearer ${MOCK_MCP_ALPHA_TOKEN}`
        : req.headers["x-beta-key"] === MOCK_MCP_BETA_KEY;
    if (!authorized) return sendJson(res, 401, { error: "unauthorized" });
    const sessionId = req.headers["mcp-session-id"] as string | undefined;
    if (req.method === "DELETE") {
      if (sessionId && sessions.delete(sessionId)) ended++;
      return void res.writeHead(204).end();
    }
    if (req.method !== "POST") return sendJson(res, 405, { error: "POST only" });
    const message = JSON.parse(body) as Message;
    const headers: Record<string, string> = {};
    if (server === "alpha") {
      if (message.method === "initialize") {
        const id = randomUUID();
        sessions.set(id, { initialized: false });
        headers["mcp-session-id"] = id;
      } else {
        const session = sessionId ? sessions.get(sessionId) : undefined;
        if (!sessionId) return sendJson(res, 400, { error: "Mcp-Session-Id required" });
        if (!session) return sendJson(res, 404, { error: "session not found" });
        if (message.method === "notifications/initialized") session.initialized = true;
        else if (!session.initialized) return sendJson(res, 400, { error: "not initialized" });
      }
    }
    if (message.id === undefined) return void res.writeHead(202).end();
    let result: unknown;
    if (message.method === "tools/call") {
      const name = String(message.params?.name ?? "");
      const args = (message.params?.arguments ?? {}) as Record<string, unknown>;
      const called = server === "alpha" ? await alphaTool(name, args) : betaTool(name, args);
      result = called ?? { error: { code: -32602, message: `Unknown tool: ${name}` } };
    } else {
      result = answer(server, message);
    }
    const reply = (result as { error?: unknown }).error
      ? { jsonrpc: "2.0", id: message.id, error: (result as { error: unknown }).error }
      : { jsonrpc: "2.0", id: message.id, result };
    const streams = server === "beta" || (message.params?.name === "progress" && message.method === "tools/call");
    if (!streams) return sendJson(res, 200, reply, headers);
    res.writeHead(200, { ...headers, "content-type": "text/event-stream", "cache-control": "no-cache" });
    const token = (message.params?._meta as { progressToken?: unknown } | undefined)?.progressToken;
    if (token !== undefined) {
      const progress = {
        jsonrpc: "2.0",
        method: "notifications/progress",
        params: { progressToken: token, progress: 1, total: 2 },
      };
      res.write(`event: message\ndata: ${JSON.stringify(progress)}\n\n`);
    }
    res.end(`event: message\ndata: ${JSON.stringify(reply)}\n\n`);
  }

  return {
    handle,
    /** Alpha's sessions still open, and how many clients ended. */
    state: () => ({ open: sessions.size, ended }),
  };
}

function betaTool(name: string, args: Record<string, unknown>): ToolResult | undefined {
  if (name === "search") return text(`found ${String(args.query ?? "")}`);
  if (name === "delete_index") return text("dropped");
  return undefined;
}
