// MCP servers that take the gateway's own OAuth token (`client_credentials`):
// the mock's `gamma` grants it, and its `whoami` tool names the client the
// token was issued to. The token is asked for once for many calls, kept,
// asked for again after the server refuses it, and a token endpoint that
// refuses the client gives the caller a clear JSON-RPC error that never
// carries the secret.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MOCK_MCP_OAUTH_CLIENT_ID, MOCK_MCP_OAUTH_CLIENT_SECRET } from "../dev/mock-upstream/mcp-oauth.ts";
import { BASE, callWorker } from "./helpers.ts";
import { admin, uniqueId } from "./identity.ts";

const mockRoot = String(env.MOCK_BASE_URL).replace(/\/v1$/, "");
const oauthRoot = `${mockRoot}/__mock/mcp-oauth`;
const granted = async () =>
  ((await (await fetch(`${oauthRoot}/stats`)).json()) as { clientCredentials: number }).clientCredentials;

interface Rpc {
  status: number;
  text: string;
  sessionId: string | null;
  body: { result?: Record<string, unknown>; error?: { code: number; message: string; data?: { code?: string } } };
}

async function register(auth: Record<string, unknown>) {
  const name = uniqueId("cc").toLowerCase();
  const made = await admin("POST", "/admin/mcp/servers", { name, url: `${mockRoot}/mcp/gamma`, auth });
  return { name, made };
}

const gammaAuth = (extra: Record<string, unknown> = {}) => ({
  type: "client_credentials",
  token_url: `${oauthRoot}/token`,
  client_id: MOCK_MCP_OAUTH_CLIENT_ID,
  client_secret: MOCK_MCP_OAUTH_CLIENT_SECRET,
  scopes: "tools.call",
  ...extra,
});

async function post(server: string, body: unknown, session?: string | null): Promise<Rpc> {
  const { response } = await callWorker(
    new Request(`${BASE}/mcp/${server}`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${await key()}`,
        "content-type": "application/json",
        accept: "application/json",
        ...(session && { "mcp-session-id": session }),
      },
      body: JSON.stringify(body),
    }),
  );
  const text = await response.text();
  return { status: response.status, text, sessionId: response.headers.get("mcp-session-id"), body: JSON.parse(text) };
}

const initialize = (server: string) =>
  post(server, {
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "cc-test", version: "1" } },
  });

const call = (server: string, session: string | null, name: string, id = 2) =>
  post(server, { jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: { text: "hi" } } }, session);

let caller: Promise<string> | undefined;
/** A virtual key that may use every server. */
const key = () => {
  caller ??= admin("POST", "/admin/keys", { name: "mcp-client-credentials" }).then(({ body }) => String(body.key));
  return caller;
};

const textOf = (rpc: Rpc) => (rpc.body.result?.content as { text: string }[] | undefined)?.[0]?.text;

describe("MCP servers with OAuth client credentials", () => {
  it("asks for the gateway's token once for many calls and keeps the secret to itself", async () => {
    const before = await granted();
    const { name, made } = await register(gammaAuth({ audience: "https://gamma.example" }));
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({
      name,
      auth_type: "client_credentials",
      secret_display: `…${MOCK_MCP_OAUTH_CLIENT_SECRET.slice(-4)}`,
      oauth: {
        token_url: `${oauthRoot}/token`,
        client_id: MOCK_MCP_OAUTH_CLIENT_ID,
        scopes: "tools.call",
        audience: "https://gamma.example",
        authorization_url: null,
      },
    });
    // Three sessions start at once: one token request serves them all.
    const sessions = await Promise.all([initialize(name), initialize(name), initialize(name)]);
    for (const started of sessions) expect(started.status).toBe(200);
    const session = sessions[0]?.sessionId ?? null;
    expect(textOf(await call(name, session, "whoami"))).toBe(`client:${MOCK_MCP_OAUTH_CLIENT_ID}@https://gamma.example`);
    expect(textOf(await call(name, session, "echo", 3))).toBe("hi");
    expect(await granted()).toBe(before + 1);
    const listing = await admin("GET", "/admin/mcp/servers");
    const one = await admin("GET", `/admin/mcp/servers/${name}`);
    for (const text of [JSON.stringify(listing.body), JSON.stringify(one.body), ...sessions.map((s) => s.text)]) {
      expect(text).not.toContain(MOCK_MCP_OAUTH_CLIENT_SECRET);
    }
  });

  it("asks for a new token once the server refuses the one it holds", async () => {
    const { name } = await register(gammaAuth());
    const { sessionId } = await initialize(name);
    expect(textOf(await call(name, sessionId, "whoami"))).toBe(`client:${MOCK_MCP_OAUTH_CLIENT_ID}`);
    const before = await granted();
    expect((await fetch(`${oauthRoot}/revoke-client-tokens`, { method: "POST" })).status).toBe(200);
    // The 401 drops the token, and the same call goes through with a new one.
    expect(textOf(await call(name, sessionId, "whoami", 3))).toBe(`client:${MOCK_MCP_OAUTH_CLIENT_ID}`);
    expect(textOf(await call(name, sessionId, "echo", 4))).toBe("hi");
    expect(await granted()).toBe(before + 1);
  });

  it("answers a refused client with the upstream error, naming the OAuth error but not the secret", async () => {
    const wrong = "not-the-gamma-secret-7f3a";
    const { name } = await register(gammaAuth({ client_secret: wrong }));
    const started = await initialize(name);
    expect(started.status).toBe(200);
    expect(started.body.error).toMatchObject({ code: -32002, data: { code: "mcp_upstream_error" } });
    expect(started.body.error?.message).toContain("invalid_client");
    expect(started.text).not.toContain(wrong);
    const all = await callWorker(
      new Request(`${BASE}/mcp`, {
        method: "POST",
        headers: { authorization: `Bearer ${await key()}`, "content-type": "application/json" },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "cc-test", version: "1" } },
        }),
      }),
    );
    const session = all.response.headers.get("mcp-session-id");
    const failed = await callWorker(
      new Request(`${BASE}/mcp`, {
        method: "POST",
        headers: { authorization: `Bearer ${await key()}`, "content-type": "application/json", "mcp-session-id": session ?? "" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: `${name}__whoami` } }),
      }),
    );
    const text = await failed.response.text();
    expect(failed.response.status).toBe(200);
    expect(JSON.parse(text).error).toMatchObject({ code: -32002, data: { code: "mcp_upstream_error" } });
    expect(text).not.toContain(wrong);
  });

  it("refuses an incomplete client", async () => {
    const { client_secret: _, ...noSecret } = gammaAuth();
    expect((await register(noSecret)).made.status).toBe(400);
    expect((await register(gammaAuth({ token_url: "ftp://gamma.example/token" }))).made.status).toBe(400);
    expect((await register(gammaAuth({ authorization_url: `${oauthRoot}/authorize` }))).made.status).toBe(400);
  });
});
