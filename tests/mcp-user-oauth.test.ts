// Users' own OAuth connections to MCP servers (`user_oauth`): the flow
// against the mock's OAuth-protected server `gamma` (start, consent,
// callback), each user's tool calls carrying their own token and nobody
// else's, refresh (one at a time, as gamma's refresh tokens rotate), a
// refused refresh asking for a new connection, revocation, and the state's
// defences.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { MOCK_MCP_OAUTH_CLIENT_ID, MOCK_MCP_OAUTH_CLIENT_SECRET } from "../dev/mock-upstream/mcp-oauth.ts";
import { mcpConnections } from "../src/db/schema.ts";
import { BASE, callWorker, db } from "./helpers.ts";
import { admin, appToken, uniqueId } from "./identity.ts";

const mockRoot = String(env.MOCK_BASE_URL).replace(/\/v1$/, "");
const oauthRoot = `${mockRoot}/__mock/mcp-oauth`;
const control = (path: string, body: unknown = {}) =>
  fetch(`${oauthRoot}${path}`, { method: "POST", body: JSON.stringify(body) });
const stats = async () =>
  (await (await fetch(`${oauthRoot}/stats`)).json()) as { exchanged: number; refreshed: number; revoked: number; reused: number };

/** Registers gamma under a fresh name, as a server each user connects to. */
async function registerGamma(): Promise<string> {
  const name = uniqueId("g").toLowerCase();
  const made = await admin("POST", "/admin/mcp/servers", {
    name,
    url: `${mockRoot}/mcp/gamma`,
    auth: {
      type: "user_oauth",
      authorization_url: `${oauthRoot}/authorize`,
      token_url: `${oauthRoot}/token`,
      revocation_url: `${oauthRoot}/revoke`,
      client_id: MOCK_MCP_OAUTH_CLIENT_ID,
      client_secret: MOCK_MCP_OAUTH_CLIENT_SECRET,
      scopes: "tools.read tools.call",
    },
  });
  expect(made.status).toBe(201);
  return name;
}

/** A bearer for the user: their JWT, as an app would send it. */
const bearerOf = (userId: string) => appToken({ sub: userId });

async function asBearer(bearer: string, path: string, init: RequestInit = {}) {
  return callWorker(
    new Request(`${BASE}${path}`, { ...init, headers: { authorization: `Bearer ${bearer}`, ...(init.headers ?? {}) } }),
  );
}

const cookieOf = (response: Response) => (response.headers.get("set-cookie") ?? "").split(";")[0] ?? "";

/** Start, from a browser: the server's authorization URL and the cookie that browser now holds. */
async function start(bearer: string, server: string): Promise<{ url: string; cookie: string; response: Response }> {
  const { response } = await asBearer(bearer, `/api/mcp-connections/${server}/start`, { method: "POST" });
  expect(response.status).toBe(200);
  return { url: ((await response.clone().json()) as { url: string }).url, cookie: cookieOf(response), response };
}

/** The server's consent screen, answered as `account`: where it sends the browser back. */
async function consent(url: string, account: string): Promise<string> {
  const at = new URL(url);
  at.searchParams.set("login_hint", account);
  const response = await fetch(at, { redirect: "manual" });
  expect(response.status).toBe(302);
  return response.headers.get("location") ?? "";
}

const returning = (back: string, cookie: string) => callWorker(new Request(back, { headers: { cookie } }));

async function connect(bearer: string, server: string, account: string): Promise<void> {
  const { url, cookie } = await start(bearer, server);
  const { response } = await returning(await consent(url, account), cookie);
  expect(response.status).toBe(200);
}

interface Rpc {
  status: number;
  body: { result?: Record<string, unknown>; error?: { code: number; message: string; data?: { code?: string } } };
}

/** An MCP client of `/mcp` (or `/mcp/{server}`) with one credential: a session, then requests in it. */
async function mcpClient(bearer: string, path = "/mcp") {
  let session: string | undefined;
  let id = 0;
  const post = async (body: unknown): Promise<Rpc & { response: Response }> => {
    const { response } = await asBearer(bearer, path, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        ...(session && { "mcp-session-id": session }),
      },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : {}, response };
  };
  const request = (method: string, params?: Record<string, unknown>) =>
    post({ jsonrpc: "2.0", id: ++id, method, ...(params && { params }) });
  const init = await request("initialize", {
    protocolVersion: "2025-06-18",
    capabilities: {},
    clientInfo: { name: "t", version: "1" },
  });
  session = init.response.headers.get("mcp-session-id") ?? undefined;
  if (session) await post({ jsonrpc: "2.0", method: "notifications/initialized" });
  return {
    init,
    request,
    tools: async () => (((await request("tools/list")).body.result?.tools as { name: string }[]) ?? []).map((t) => t.name),
    call: (name: string) => request("tools/call", { name, arguments: {} }),
  };
}

const textOf = (answer: Rpc) => (answer.body.result?.content as { text: string }[] | undefined)?.[0]?.text;

describe("a user's own connection to an MCP server", () => {
  it("is registered with the server's OAuth client, its secret sealed and never shown", async () => {
    const name = await registerGamma();
    const shown = await admin("GET", `/admin/mcp/servers/${name}`);
    expect(shown.body).toMatchObject({
      auth_type: "user_oauth",
      oauth: {
        authorization_url: `${oauthRoot}/authorize`,
        token_url: `${oauthRoot}/token`,
        revocation_url: `${oauthRoot}/revoke`,
        client_id: MOCK_MCP_OAUTH_CLIENT_ID,
        scopes: "tools.read tools.call",
      },
      secret_display: "…cret",
    });
    expect(JSON.stringify(shown.body)).not.toContain(MOCK_MCP_OAUTH_CLIENT_SECRET);
  });

  it("finds the server's endpoints from its RFC 9728 and RFC 8414 metadata when the admin gives none", async () => {
    const name = uniqueId("gd").toLowerCase();
    const auth = { type: "user_oauth", client_id: MOCK_MCP_OAUTH_CLIENT_ID, client_secret: MOCK_MCP_OAUTH_CLIENT_SECRET };
    const made = await admin("POST", "/admin/mcp/servers", { name, url: `${mockRoot}/mcp/gamma`, auth });
    expect(made.status).toBe(201);
    expect(made.body.oauth).toEqual({
      authorization_url: `${oauthRoot}/authorize`,
      token_url: `${oauthRoot}/token`,
      revocation_url: `${oauthRoot}/revoke`,
      client_id: MOCK_MCP_OAUTH_CLIENT_ID,
      scopes: "",
    });
    // Discovered endpoints work like given ones.
    const user = uniqueId("lee");
    const bearer = await bearerOf(user);
    await connect(bearer, name, "lee@gamma");
    expect(textOf(await (await mcpClient(bearer)).call(`${name}__whoami`))).toBe("lee@gamma");

    // A server with no metadata must be given its endpoints; half of them is refused.
    const bare = await admin("POST", "/admin/mcp/servers", {
      name: uniqueId("gx").toLowerCase(),
      url: `${mockRoot}/mcp/alpha`,
      auth,
    });
    expect(bare.status).toBe(400);
    expect(JSON.stringify(bare.body)).toContain("mcp_oauth_discovery_failed");
    const half = await admin("POST", "/admin/mcp/servers", {
      name: uniqueId("gh").toLowerCase(),
      url: `${mockRoot}/mcp/gamma`,
      auth: { ...auth, token_url: `${oauthRoot}/token` },
    });
    expect(half.status).toBe(400);
  });

  it("connects through start, the server's consent and the callback, and serves that user's calls with their token only", async () => {
    const server = await registerGamma();
    const alice = uniqueId("alice");
    const aliceBearer = await bearerOf(alice);
    const before = await stats();

    const started = await start(aliceBearer, server);
    expect(started.response.headers.get("cache-control")).toBe("no-store");
    expect(await started.response.json()).toMatchObject({ server, user_id: alice });
    const url = new URL(started.url);
    expect(`${url.origin}${url.pathname}`).toBe(`${oauthRoot}/authorize`);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      response_type: "code",
      client_id: MOCK_MCP_OAUTH_CLIENT_ID,
      redirect_uri: `${BASE}/api/mcp-connections/callback`,
      code_challenge_method: "S256",
      scope: "tools.read tools.call",
    });
    expect(url.searchParams.get("code_challenge")).toMatch(/^[\w-]{43}$/);
    expect(started.response.headers.get("set-cookie")).toMatch(
      /^__Host-sluice-mcp=[\w-]{43}; Path=\/; Max-Age=600; HttpOnly; SameSite=Lax; Secure$/,
    );

    const back = await consent(started.url, "alice@gamma");
    expect(back.startsWith(`${BASE}/api/mcp-connections/callback?`)).toBe(true);
    const callback = await returning(back, started.cookie);
    expect(callback.response.status).toBe(200);
    expect(callback.response.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(callback.response.headers.get("set-cookie")).toMatch(/^__Host-sluice-mcp=; Path=\/; Max-Age=0/);
    expect(await callback.response.text()).toContain("MCP server connected");
    expect((await stats()).exchanged).toBe(before.exchanged + 1);

    // Sealed: the row holds no token in the clear; the list shows none either.
    const [row] = await db().select().from(mcpConnections).where(eq(mcpConnections.userId, alice));
    expect(row).toMatchObject({ server, status: "active", scopes: "tools.read tools.call" });
    expect(row?.ciphertext).not.toContain("gamma-");
    const listed = await asBearer(aliceBearer, "/api/mcp-connections");
    const list = (await listed.response.json()) as { data: Record<string, unknown>[] };
    expect(list.data).toEqual([expect.objectContaining({ server, status: "active", scopes: ["tools.read", "tools.call"] })]);
    expect(JSON.stringify(list)).not.toContain("gamma-at-");

    // Alice's calls carry her token: gamma says whose it is.
    const aliceMcp = await mcpClient(aliceBearer);
    expect(aliceMcp.init.status).toBe(200);
    expect(await aliceMcp.tools()).toEqual(expect.arrayContaining([`${server}__whoami`, `${server}__echo`]));
    expect(textOf(await aliceMcp.call(`${server}__whoami`))).toBe("alice@gamma");

    // Bob has no connection: gamma's tools are not listed for him, and a call says how to connect.
    const bob = uniqueId("bob");
    const bobBearer = await bearerOf(bob);
    const bobMcp = await mcpClient(bobBearer);
    expect((await bobMcp.tools()).some((name) => name.startsWith(`${server}__`))).toBe(false);
    const refused = await bobMcp.call(`${server}__whoami`);
    expect(refused.status).toBe(200);
    expect(refused.body.error).toMatchObject({ code: -32003, data: { code: "mcp_connection_required" } });
    expect(refused.body.error?.message).toContain(`POST ${BASE}/api/mcp-connections/${server}/start`);
    // On the server's own route, the same answer to `initialize`.
    const alone = await mcpClient(bobBearer, `/mcp/${server}`);
    expect(alone.init.status).toBe(200);
    expect(alone.init.body.error?.data?.code).toBe("mcp_connection_required");

    // Once Bob connects his own account, his calls are his, and Alice's stay hers.
    await connect(bobBearer, server, "bob@gamma");
    expect(textOf(await bobMcp.call(`${server}__whoami`))).toBe("bob@gamma");
    expect(textOf(await aliceMcp.call(`${server}__whoami`))).toBe("alice@gamma");
  });

  it("is a user's: a key she minted herself uses it; a key an admin bound to her, or to no one, cannot", async () => {
    const server = await registerGamma();
    const carol = uniqueId("carol");
    expect((await admin("POST", "/admin/users", { id: carol })).status).toBe(201);
    const minted = await asBearer(await bearerOf(carol), "/api/keys", {
      method: "POST",
      body: "{}",
      headers: { "content-type": "application/json" },
    });
    expect(minted.response.status).toBe(201);
    const carolKey = String(((await minted.response.json()) as { key: string }).key);
    await connect(carolKey, server, "carol@gamma");
    // Her JWT and her own key are the same user.
    expect(textOf(await (await mcpClient(await bearerOf(carol))).call(`${server}__whoami`))).toBe("carol@gamma");
    expect(textOf(await (await mcpClient(carolKey)).call(`${server}__whoami`))).toBe("carol@gamma");

    // A key an administrator minted with her user id is hers for spend and limits, never for her accounts.
    const given = String((await admin("POST", "/admin/keys", { user_id: carol })).body.key);
    const serviceKey = String((await admin("POST", "/admin/keys", { name: "service" })).body.key);
    for (const key of [given, serviceKey]) {
      const refused = await (await mcpClient(key)).call(`${server}__whoami`);
      expect(refused.body.error).toMatchObject({ code: -32003, data: { code: "mcp_user_required" } });
      for (const [method, path] of [
        ["POST", `/api/mcp-connections/${server}/start`],
        ["DELETE", `/api/mcp-connections/${server}`],
      ] as const) {
        const { response } = await asBearer(key, path, { method });
        expect(response.status).toBe(403);
        expect(await response.json()).toMatchObject({ error: { code: "user_required" } });
      }
    }
    // Her connection is untouched by the refused delete.
    expect(textOf(await (await mcpClient(carolKey)).call(`${server}__whoami`))).toBe("carol@gamma");
  });

  it("refreshes an expired token once for concurrent calls, as the server's refresh tokens rotate", async () => {
    const server = await registerGamma();
    const dave = uniqueId("dave");
    const bearer = await bearerOf(dave);
    // A session begun before the connection: each call then opens gamma's session itself, all at once.
    const client = await mcpClient(bearer);
    // Tokens that live 30 s are due for refresh at once (a minute's margin); the refreshed ones live an hour.
    await control("/settings", { expires_in: 30 });
    try {
      await connect(bearer, server, "dave@gamma");
    } finally {
      await control("/settings", { expires_in: 3600 });
    }
    const [before] = await db().select().from(mcpConnections).where(eq(mcpConnections.userId, dave));
    const counts = await stats();
    const answers = await Promise.all([1, 2, 3, 4].map(() => client.call(`${server}__whoami`)));
    expect(answers.map(textOf)).toEqual(["dave@gamma", "dave@gamma", "dave@gamma", "dave@gamma"]);
    const after = await stats();
    // Four calls found the token stale together: one refresh served them all, never a rotated token spent twice.
    expect(after.refreshed).toBe(counts.refreshed + 1);
    expect(after.reused).toBe(counts.reused);
    const [row] = await db().select().from(mcpConnections).where(eq(mcpConnections.userId, dave));
    expect(row?.ciphertext).not.toBe(before?.ciphertext);
    expect((row?.expiresAt?.getTime() ?? 0) - Date.now()).toBeGreaterThan(3000_000);
  });

  it("asks the user to connect again when the server refuses the refresh", async () => {
    const server = await registerGamma();
    const erin = uniqueId("erin");
    const bearer = await bearerOf(erin);
    await control("/settings", { expires_in: 30 });
    try {
      await connect(bearer, server, "erin@gamma");
    } finally {
      await control("/settings", { expires_in: 3600 });
    }
    await control("/revoke-all");
    const client = await mcpClient(bearer);
    const refused = await client.call(`${server}__whoami`);
    expect(refused.status).toBe(200);
    expect(refused.body.error).toMatchObject({ code: -32003, data: { code: "mcp_connection_reconnect" } });
    const list = (await (await asBearer(bearer, "/api/mcp-connections")).response.json()) as { data: { status: string }[] };
    expect(list.data.map((c) => c.status)).toEqual(["reconnect"]);
    // Connecting again brings it back.
    await connect(bearer, server, "erin@gamma");
    expect(textOf(await client.call(`${server}__whoami`))).toBe("erin@gamma");
  });

  it("refreshes after the server refuses a token it revoked, and then asks for a new connection", async () => {
    const server = await registerGamma();
    const kim = uniqueId("kim");
    const bearer = await bearerOf(kim);
    await connect(bearer, server, "kim@gamma");
    const client = await mcpClient(bearer);
    expect(textOf(await client.call(`${server}__whoami`))).toBe("kim@gamma");
    // The grant is revoked at the server: its live token, unexpired to Sluice, is refused.
    await control("/revoke-all");
    const refused = await client.call(`${server}__whoami`);
    expect(refused.body.error).toMatchObject({ code: -32002, data: { code: "mcp_upstream_error" } });
    expect(refused.body.error?.message).toContain("answered HTTP 401");
    // So the next call refreshes first, which the server refuses too: the user must connect again.
    const next = await client.call(`${server}__whoami`);
    expect(next.body.error).toMatchObject({ code: -32003, data: { code: "mcp_connection_reconnect" } });
  });

  it("is disconnected and revoked at the server", async () => {
    const server = await registerGamma();
    const frank = uniqueId("frank");
    const bearer = await bearerOf(frank);
    await connect(bearer, server, "frank@gamma");
    const client = await mcpClient(bearer);
    expect(textOf(await client.call(`${server}__whoami`))).toBe("frank@gamma");
    const counts = await stats();
    const { response } = await asBearer(bearer, `/api/mcp-connections/${server}`, { method: "DELETE" });
    expect(await response.json()).toEqual({ server, disconnected: true, revoked: true });
    expect((await stats()).revoked).toBe(counts.revoked + 1);
    expect(await db().select().from(mcpConnections).where(eq(mcpConnections.userId, frank))).toEqual([]);
    const after = await client.call(`${server}__whoami`);
    expect(after.body.error?.data?.code).toBe("mcp_connection_required");
    const again = await asBearer(bearer, `/api/mcp-connections/${server}`, { method: "DELETE" });
    expect(await again.response.json()).toEqual({ server, disconnected: false, revoked: false });
  });

  it("refuses a tampered, replayed or carried-off state", async () => {
    const server = await registerGamma();
    const grace = uniqueId("grace");
    const bearer = await bearerOf(grace);
    const { url, cookie } = await start(bearer, server);
    const back = new URL(await consent(url, "grace@gamma"));
    const state = back.searchParams.get("state") ?? "";

    // Tampered: one character of the signature changed.
    const tampered = new URL(back);
    tampered.searchParams.set("state", `${state.slice(0, -2)}${state.at(-2) === "A" ? "B" : "A"}${state.at(-1)}`);
    const forged = await returning(tampered.toString(), cookie);
    expect(forged.response.status).toBe(400);
    expect(await forged.response.text()).toContain("not one this gateway issued");

    // Carried off to another browser (no cookie, or another flow's).
    const elsewhere = await returning(back.toString(), "");
    expect(elsewhere.response.status).toBe(400);
    expect(await elsewhere.response.text()).toContain("the browser that started it");

    // Completed once, then replayed.
    expect((await returning(back.toString(), cookie)).response.status).toBe(200);
    const replayed = await returning(back.toString(), cookie);
    expect(replayed.response.status).toBe(400);
    expect(await replayed.response.text()).toContain("already completed");

    // A refusal at the server changes nothing.
    const denied = await start(bearer, server);
    const refusedBack = await returning(await consent(denied.url, "deny"), denied.cookie);
    expect(refusedBack.response.status).toBe(400);
    expect(await refusedBack.response.text()).toContain("access_denied");
  });

  it("is only for servers registered as user_oauth that the caller may use", async () => {
    const bearer = await bearerOf(uniqueId("henry"));
    const { response } = await asBearer(bearer, "/api/mcp-connections/nope/start", { method: "POST" });
    expect(response.status).toBe(404);
    const server = await registerGamma();
    const user = uniqueId("ivy");
    expect((await admin("POST", "/admin/users", { id: user, settings: { mcp_servers: ["other"] } })).status).toBe(201);
    const own = await bearerOf(user);
    expect((await asBearer(own, `/api/mcp-connections/${server}/start`, { method: "POST" })).response.status).toBe(404);
  });
});
