// MCP servers behind `/mcp`: registered by the admin with sealed
// credentials, aggregated under namespaced names, narrowed per team, user
// and key, limited and recorded per tool call, with sessions any isolate can
// serve and dead or slow servers answered in bounded time. The mock upstream
// plays two MCP servers (`dev/mock-upstream/mcp.ts`).
import { env } from "cloudflare:test";
import { Redis } from "@upstash/redis/cloudflare";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { MOCK_MCP_ALPHA_TOKEN, MOCK_MCP_BETA_KEY } from "../dev/mock-upstream/mcp.ts";
import { mcpCalls } from "../src/db/schema.ts";
import { BASE, callWorker, db } from "./helpers.ts";
import { admin, uniqueId } from "./identity.ts";

const mockRoot = String(env.MOCK_BASE_URL).replace(/\/v1$/, "");

interface Rpc {
  status: number;
  headers: Headers;
  body: {
    jsonrpc: string;
    id: unknown;
    result?: Record<string, unknown>;
    error?: { code: number; message: string; data?: { type?: string; code?: string; param?: string } };
  };
  text: string;
  requestId: string;
}

/** An MCP client of the gateway: `initialize` first, then the session id on every request. */
class McpSession {
  sessionId: string | undefined;
  private nextId = 1;

  constructor(
    readonly credential: string,
    readonly path = "/mcp",
    readonly target: { fetch(request: Request): Promise<Response> } = { fetch: async (r) => (await callWorker(r)).response },
  ) {}

  async post(body: unknown, headers: Record<string, string> = {}): Promise<Rpc> {
    const response = await this.target.fetch(
      new Request(`${BASE}${this.path}`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${this.credential}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          ...(this.sessionId && { "mcp-session-id": this.sessionId }),
          ...headers,
        },
        body: JSON.stringify(body),
      }),
    );
    const text = await response.text();
    const parsed = response.headers.get("content-type")?.includes("text/event-stream")
      ? JSON.parse(
          text
            .trim()
            .split("\n\n")
            .at(-1)
            ?.replace(/^event: message\ndata: /, "") ?? "{}",
        )
      : text
        ? JSON.parse(text)
        : {};
    return {
      status: response.status,
      headers: response.headers,
      body: parsed,
      text,
      requestId: response.headers.get("x-request-id") ?? "",
    };
  }

  request(method: string, params?: Record<string, unknown>, headers?: Record<string, string>) {
    return this.post({ jsonrpc: "2.0", id: this.nextId++, method, ...(params && { params }) }, headers);
  }

  async initialize(): Promise<Rpc> {
    const answer = await this.request("initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "mcp-test", version: "1.0.0" },
    });
    this.sessionId = answer.headers.get("mcp-session-id") ?? undefined;
    await this.post({ jsonrpc: "2.0", method: "notifications/initialized" });
    return answer;
  }

  async toolNames(): Promise<string[]> {
    const listed = await this.request("tools/list");
    expect(listed.status).toBe(200);
    return ((listed.body.result?.tools as { name: string }[]) ?? []).map((tool) => tool.name).sort();
  }
}

/** Registers the mock's two servers under fresh names; each test scopes its keys to them. */
async function registerServers(extra: Record<string, unknown> = {}) {
  const alpha = uniqueId("a").toLowerCase();
  const beta = uniqueId("b").toLowerCase();
  const made = await admin("POST", "/admin/mcp/servers", {
    name: alpha,
    url: `${mockRoot}/mcp/alpha`,
    auth: { type: "bearer", token: MOCK_MCP_ALPHA_TOKEN },
    ...extra,
  });
  expect(made.status).toBe(201);
  expect(
    (
      await admin("POST", "/admin/mcp/servers", {
        name: beta,
        url: `${mockRoot}/mcp/beta`,
        auth: { type: "header", name: "X-Beta-Key", value: MOCK_MCP_BETA_KEY },
      })
    ).status,
  ).toBe(201);
  return { alpha, beta };
}

async function keyFor(settings: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<string> {
  const made = await admin("POST", "/admin/keys", { settings, ...extra });
  expect(made.status).toBe(201);
  return String(made.body.key);
}

async function ledgerRow(requestId: string, waitMs = 5000) {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const [row] = await db().select().from(mcpCalls).where(eq(mcpCalls.requestId, requestId));
    if (row || Date.now() > deadline) return row;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const textOf = (answer: Rpc) => (answer.body.result?.content as { text: string }[] | undefined)?.[0]?.text;

describe("the admin registers MCP servers", () => {
  it("with a credential sealed and never shown again, and changes and removes them", async () => {
    const name = uniqueId("crud").toLowerCase();
    const made = await admin("POST", "/admin/mcp/servers", {
      name,
      url: `${mockRoot}/mcp/alpha`,
      description: "the alpha mock",
      auth: { type: "bearer", token: MOCK_MCP_ALPHA_TOKEN },
      price_per_call_usd: 0.002,
    });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({
      name,
      auth_type: "bearer",
      auth_header: null,
      secret_display: `…${MOCK_MCP_ALPHA_TOKEN.slice(-4)}`,
      timeout_ms: 30000,
      price_per_call_usd: 0.002,
      disabled: false,
    });
    const read = await admin("GET", `/admin/mcp/servers/${name}`);
    const listed = await admin("GET", "/admin/mcp/servers");
    for (const body of [made.body, read.body, listed.body]) expect(JSON.stringify(body)).not.toContain(MOCK_MCP_ALPHA_TOKEN);
    expect((listed.body.data as { name: string }[]).map((s) => s.name)).toContain(name);

    const changed = await admin("PATCH", `/admin/mcp/servers/${name}`, {
      auth: { type: "header", name: "X-Api-Key", value: "other-secret-1234" },
      timeout_ms: 5000,
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      auth_type: "header",
      auth_header: "x-api-key",
      secret_display: "…1234",
      timeout_ms: 5000,
    });

    expect((await admin("POST", "/admin/mcp/servers", { name, url: `${mockRoot}/mcp/alpha` })).status).toBe(409);
    expect((await admin("DELETE", `/admin/mcp/servers/${name}`)).body).toEqual({ name, deleted: true });
    expect((await admin("GET", `/admin/mcp/servers/${name}`)).status).toBe(404);
  });

  it("refuses names that would break namespacing, URLs that are not http, and headers the gateway sets", async () => {
    const refusals = [
      [{ name: "Has_Under", url: `${mockRoot}/mcp/alpha` }, "name"],
      [{ name: "ok", url: "file:///etc/passwd" }, "url"],
      [{ name: "ok", url: `${mockRoot}/mcp/alpha`, auth: { type: "header", name: "Mcp-Session-Id", value: "x" } }, "auth.name"],
    ] as const;
    for (const [body, param] of refusals) {
      const refused = await admin("POST", "/admin/mcp/servers", body);
      expect(refused.status).toBe(400);
      expect((refused.body.error as { param: string }).param).toBe(param);
    }
  });

  it("is the admin's alone", async () => {
    const key = await keyFor({});
    const { response } = await callWorker(
      new Request(`${BASE}/admin/mcp/servers`, { headers: { authorization: `Bearer ${key}` } }),
    );
    expect(response.status).toBe(403);
  });
});

describe("/mcp", () => {
  it("aggregates the servers' tools, prompts and resources under namespaced names, with the gateway's credentials", async () => {
    const { alpha, beta } = await registerServers();
    const client = new McpSession(await keyFor({ mcp_servers: [alpha, beta] }));
    const init = await client.initialize();
    expect(init.status).toBe(200);
    expect(init.body.result).toMatchObject({ protocolVersion: "2025-06-18", serverInfo: { name: "sluice" } });
    expect(init.body.result?.capabilities).toMatchObject({ tools: {}, prompts: {}, resources: {} });
    expect(client.sessionId).toMatch(/^mcp1\./);
    // Alpha's two pages of tools, and beta's (answered as server-sent events).
    expect(await client.toolNames()).toEqual(
      [
        ...["add", "delete_repo", "echo", "fail", "progress", "slow"].map((t) => `${alpha}__${t}`),
        ...["delete_index", "search"].map((t) => `${beta}__${t}`),
      ].sort(),
    );
    const echoed = await client.request("tools/call", { name: `${alpha}__echo`, arguments: { text: "hi there" } });
    expect(echoed.body).toEqual({
      jsonrpc: "2.0",
      id: echoed.body.id,
      result: { content: [{ type: "text", text: "hi there" }] },
    });
    expect(textOf(await client.request("tools/call", { name: `${beta}__search`, arguments: { query: "q" } }))).toBe("found q");

    const prompts = await client.request("prompts/list");
    expect((prompts.body.result as { prompts: { name: string }[] }).prompts.map((p) => p.name)).toEqual([`${alpha}__greet`]);
    const prompt = await client.request("prompts/get", { name: `${alpha}__greet`, arguments: { name: "Ada" } });
    expect(prompt.body.result?.messages).toEqual([{ role: "user", content: { type: "text", text: "Say hello to Ada." } }]);

    const resources = await client.request("resources/list");
    expect((resources.body.result as { resources: { uri: string }[] }).resources.map((r) => r.uri).sort()).toEqual(
      [`mcp+${alpha}:alpha://readme`, `mcp+${beta}:beta://readme`].sort(),
    );
    const templates = await client.request("resources/templates/list");
    expect(
      (templates.body.result as { resourceTemplates: { uriTemplate: string }[] }).resourceTemplates.map((t) => t.uriTemplate),
    ).toContain(`mcp+${alpha}:alpha://docs/{page}`);
    const read = await client.request("resources/read", { uri: `mcp+${beta}:beta://readme` });
    expect(read.body.result?.contents).toEqual([
      { uri: `mcp+${beta}:beta://readme`, mimeType: "text/plain", text: "contents of beta://readme" },
    ]);
    expect((await client.request("ping")).body.result).toEqual({});
    const unknown = await client.request("completion/complete", {});
    expect(unknown.body.error?.code).toBe(-32601);

    // What each server received: its own credential and names, never the caller's key.
    const sent = await fetch(`${mockRoot}/__mock/requests/${echoed.requestId}/attempts`);
    const [call] = (await sent.json()) as { headers: Record<string, string>; body: { params: { name: string } } }[];
    expect(call?.headers.authorization).toBe(`Bearer ${MOCK_MCP_ALPHA_TOKEN}`);
    expect(call?.headers["mcp-session-id"]).toBeTruthy();
    expect(call?.headers["mcp-protocol-version"]).toBe("2025-06-18");
    expect(call?.body.params.name).toBe("echo");
  });

  it("takes notifications with a 202, and refuses batches, a GET stream and requests without a session", async () => {
    const { alpha } = await registerServers();
    const client = new McpSession(await keyFor({ mcp_servers: [alpha] }));
    await client.initialize();
    expect((await client.post({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 9 } })).status).toBe(202);
    const batch = await client.post([{ jsonrpc: "2.0", id: 1, method: "ping" }]);
    expect(batch.status).toBe(400);
    expect(batch.body.error?.code).toBe(-32600);
    const notJson = await callWorker(
      new Request(`${BASE}/mcp`, { method: "POST", headers: { authorization: `Bearer ${client.credential}` }, body: "{nope" }),
    );
    expect(notJson.response.status).toBe(400);
    expect(((await notJson.response.json()) as Rpc["body"]).error?.code).toBe(-32700);
    const stream = await callWorker(new Request(`${BASE}/mcp`, { headers: { authorization: `Bearer ${client.credential}` } }));
    expect(stream.response.status).toBe(405);
    expect(stream.response.headers.get("allow")).toBe("POST, DELETE");
    const sessionless = new McpSession(client.credential);
    const refused = await sessionless.request("tools/list");
    expect(refused.status).toBe(400);
    expect(refused.body.error?.data?.param).toBe("mcp-session-id");
    const unauthenticated = await new McpSession("sk-not-a-key").request("initialize", {});
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.body).toMatchObject({ jsonrpc: "2.0", id: null, error: { code: -32001 } });
  });

  it("answers a newer client's probe so that it falls back to initialize", async () => {
    const { alpha } = await registerServers();
    const probe = new McpSession(await keyFor({ mcp_servers: [alpha] }));
    // A version the transport does not speak stays a 400, as the 2025-11-25 transport requires.
    const newer = await probe.request("server/discover", {}, { "mcp-protocol-version": "2026-07-28" });
    expect(newer.status).toBe(400);
    expect(newer.body.error?.data?.code).toBe("unsupported_protocol_version");
    expect(newer.body.error?.message).toContain("2025-11-25");
    // Without that header, a method this protocol lacks is "method not found", with or without a session.
    const discover = await probe.request("server/discover", {});
    expect(discover.status).toBe(200);
    expect(discover.body).toMatchObject({ jsonrpc: "2.0", id: 2, error: { code: -32601, data: { code: "method_not_found" } } });
    const known = await probe.request("tools/list");
    expect(known.status).toBe(400);
    expect(known.body.error?.data?.code).toBe("mcp_session_required");
    await probe.initialize();
    expect((await probe.request("server/discover", {})).body.error?.code).toBe(-32601);
    expect(await probe.toolNames()).toContain(`${alpha}__echo`);
  });

  it("serves a session from any isolate, and only to the caller that started it", async () => {
    const { alpha } = await registerServers();
    const key = await keyFor({ mcp_servers: [alpha] });
    const first = new McpSession(key);
    await first.initialize();
    const elsewhere = new McpSession(key, "/mcp", env.SECOND_INSTANCE);
    elsewhere.sessionId = first.sessionId;
    expect(textOf(await elsewhere.request("tools/call", { name: `${alpha}__add`, arguments: { a: 2, b: 3 } }))).toBe("5");
    const stranger = new McpSession(await keyFor({ mcp_servers: [alpha] }));
    stranger.sessionId = first.sessionId;
    const refused = await stranger.request("tools/list");
    expect(refused.status).toBe(404);
    expect(refused.body.error?.data?.code).toBe("mcp_session_not_found");
    const forged = new McpSession(key);
    forged.sessionId = `${first.sessionId?.slice(0, -4)}AAAA`;
    expect((await forged.request("tools/list")).status).toBe(404);
  });

  it("ends the upstream sessions on DELETE", async () => {
    const { alpha } = await registerServers();
    const client = new McpSession(await keyFor({ mcp_servers: [alpha] }));
    await client.initialize();
    const before = (await (await fetch(`${mockRoot}/__mock/mcp/state`)).json()) as { ended: number };
    const ended = await callWorker(
      new Request(`${BASE}/mcp`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${client.credential}`, "mcp-session-id": client.sessionId ?? "" },
      }),
    );
    expect(ended.response.status).toBe(204);
    await ended.settled();
    const after = (await (await fetch(`${mockRoot}/__mock/mcp/state`)).json()) as { ended: number };
    expect(after.ended).toBeGreaterThan(before.ended);
  });

  it("relays a tool's progress as server-sent events to a client that reads them", async () => {
    const { alpha } = await registerServers();
    const client = new McpSession(await keyFor({ mcp_servers: [alpha] }));
    await client.initialize();
    const answer = await client.request("tools/call", { name: `${alpha}__progress`, _meta: { progressToken: "p1" } });
    expect(answer.headers.get("content-type")).toContain("text/event-stream");
    const events = answer.text
      .trim()
      .split("\n\n")
      .map((event) => JSON.parse(event.replace(/^event: message\ndata: /, "")));
    expect(events.map((event) => event.method ?? "response")).toEqual(["notifications/progress", "response"]);
    expect(events[1].result.content[0].text).toBe("done");
  });
});

describe("/mcp/{server}", () => {
  it("shows one server with its own names", async () => {
    const { alpha, beta } = await registerServers();
    const client = new McpSession(await keyFor({ mcp_servers: [alpha, beta] }), `/mcp/${alpha}`);
    const init = await client.initialize();
    expect(init.body.result?.serverInfo).toEqual({ name: "mock-alpha", version: "1.0.0" });
    expect(await client.toolNames()).toEqual(["add", "delete_repo", "echo", "fail", "progress", "slow"]);
    expect(textOf(await client.request("tools/call", { name: "echo", arguments: { text: "one" } }))).toBe("one");
    const read = await client.request("resources/read", { uri: "alpha://readme" });
    expect((read.body.result as { contents: { uri: string }[] }).contents[0]?.uri).toBe("alpha://readme");
    // A session of one route is not one of another.
    const other = new McpSession(client.credential, `/mcp/${beta}`);
    other.sessionId = client.sessionId;
    expect((await other.request("tools/list")).status).toBe(404);
  });
});

describe("who may call what", () => {
  it("narrows tools level by level, with wildcards and exclusions, and what is not listed cannot be called", async () => {
    const { alpha, beta } = await registerServers();
    const team = uniqueId("mcp-team");
    expect(
      (
        await admin("POST", "/admin/teams", {
          id: team,
          settings: { mcp_tools: [`${alpha}__*`, `!${alpha}__delete_*`, `${beta}__*`] },
        })
      ).status,
    ).toBe(201);
    // The key asks for more than its team allows (delete_repo), and less (no beta): it gets the overlap.
    const key = await keyFor(
      { mcp_servers: [alpha, beta], mcp_tools: ["*__echo", "*__add", "*__delete_repo"] },
      { team_id: team },
    );
    const client = new McpSession(key);
    await client.initialize();
    expect(await client.toolNames()).toEqual([`${alpha}__add`, `${alpha}__echo`]);
    for (const name of [`${alpha}__delete_repo`, `${beta}__search`, `${alpha}__nope`, "no-separator"]) {
      const refused = await client.request("tools/call", { name, arguments: {} });
      expect(refused.status).toBe(200);
      expect(refused.body.error).toMatchObject({ code: -32602, message: `Unknown tool: ${name}` });
    }
    // A server outside `mcp_servers` is not there at all.
    const narrow = await keyFor({ mcp_servers: [alpha] });
    const scoped = new McpSession(narrow, `/mcp/${beta}`);
    expect(
      (
        await scoped.request("initialize", {
          protocolVersion: "2025-06-18",
          capabilities: {},
          clientInfo: { name: "t", version: "1" },
        })
      ).status,
    ).toBe(404);
  });
});

describe("limits and the ledger", () => {
  it("counts tool calls per minute exactly, and records each call with its caller, latency, status, bytes and price", async () => {
    const { alpha } = await registerServers({ price_per_call_usd: 0.01 });
    const made = await admin("POST", "/admin/keys", { settings: { mcp_servers: [alpha], mcp_calls_per_minute: 3 } });
    const client = new McpSession(String(made.body.key));
    await client.initialize();
    const answers: Rpc[] = [];
    for (let i = 0; i < 4; i++)
      answers.push(await client.request("tools/call", { name: `${alpha}__echo`, arguments: { text: `n${i}` } }));
    expect(answers.slice(0, 3).map((a) => a.status)).toEqual([200, 200, 200]);
    expect(answers[0]?.headers.get("x-ratelimit-limit-tool-calls")).toBe("3");
    expect(answers[2]?.headers.get("x-ratelimit-remaining-tool-calls")).toBe("0");
    const refused = answers[3] as Rpc;
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(refused.body.error).toMatchObject({ code: -32029, data: { type: "rate_limit", code: "mcp_rate_limited" } });
    // Lists are not tool calls.
    expect((await client.request("tools/list")).status).toBe(200);

    const rows = await Promise.all(answers.map((a) => ledgerRow(a.requestId)));
    expect(rows.map((row) => row?.status)).toEqual(["ok", "ok", "ok", "rate_limited"]);
    for (const row of rows) {
      expect(row).toMatchObject({ server: alpha, tool: "echo", principalType: "key", keyId: made.body.id });
    }
    expect(rows[0]?.costUsd).toBe(0.01);
    expect(rows[3]?.costUsd).toBe(0);
    expect(rows[0]?.bytesIn).toBeGreaterThan(0);
    expect(rows[0]?.bytesOut).toBeGreaterThan(0);
    expect(rows[0]?.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it("counts tool calls per day too, exactly under concurrency, the tighter of the two refusing", async () => {
    const { alpha } = await registerServers();
    // A team allows 100 a minute and 5 a day; the key, 50 a minute: the lowest of each applies.
    const team = uniqueId("mcp-day-team");
    expect(
      (await admin("POST", "/admin/teams", { id: team, settings: { mcp_calls_per_day: 5, mcp_calls_per_minute: 100 } })).status,
    ).toBe(201);
    const made = await admin("POST", "/admin/keys", {
      team_id: team,
      settings: { mcp_servers: [alpha], mcp_calls_per_minute: 50 },
    });
    const client = new McpSession(String(made.body.key));
    await client.initialize();
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => client.request("tools/call", { name: `${alpha}__echo`, arguments: { text: `d${i}` } })),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(5);
    const refused = answers.filter((a) => a.status === 429);
    expect(refused).toHaveLength(3);
    const first = refused[0] as Rpc;
    expect(first.body.error?.message).toBe("Tool call limit reached: 5 per day (UTC).");
    expect(first.headers.get("x-ratelimit-limit-tool-calls")).toBe("50");
    expect(first.headers.get("x-ratelimit-limit-tool-calls-day")).toBe("5");
    expect(first.headers.get("x-ratelimit-remaining-tool-calls-day")).toBe("0");
    // Until the next UTC day.
    const untilMidnight = Math.ceil(
      (Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() + 1) - Date.now()) / 1000,
    );
    expect(Math.abs(Number(first.headers.get("retry-after")) - untilMidnight)).toBeLessThanOrEqual(2);
  });

  it("charges a priced call against the caller's budgets under concurrency, and refuses what does not fit", async () => {
    const { alpha } = await registerServers({ price_per_call_usd: 0.01 });
    // The team's day allows $0.05; the key's own budget $0.025: two calls fit, the third does not.
    const team = uniqueId("mcp-price-team");
    expect((await admin("POST", "/admin/teams", { id: team, usd_per_day: 0.05 })).status).toBe(201);
    const made = await admin("POST", "/admin/keys", { team_id: team, max_budget: 0.025, settings: { mcp_servers: [alpha] } });
    const client = new McpSession(String(made.body.key));
    await client.initialize();
    const call = (i: number) => client.request("tools/call", { name: `${alpha}__echo`, arguments: { text: `p${i}` } });
    const answers = await Promise.all([0, 1, 2, 3].map(call));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 429, 429]);
    const refused = answers.find((a) => a.status === 429) as Rpc;
    expect(refused.body.error).toMatchObject({ code: -32029, data: { code: "budget_exceeded" } });
    const rows = await Promise.all(answers.map((a) => ledgerRow(a.requestId)));
    expect(rows.map((row) => row?.status).sort()).toEqual(["ok", "ok", "rate_limited", "rate_limited"]);
    expect(rows.reduce((sum, row) => sum + (row?.costUsd ?? 0), 0)).toBeCloseTo(0.02, 9);
    // A free server's calls are not charged: the same key keeps calling it.
    const { alpha: free } = await registerServers();
    const freeKey = await admin("POST", "/admin/keys", { team_id: team, max_budget: 0.001, settings: { mcp_servers: [free] } });
    const freeClient = new McpSession(String(freeKey.body.key));
    await freeClient.initialize();
    for (let i = 0; i < 3; i++)
      expect((await freeClient.request("tools/call", { name: `${free}__echo`, arguments: { text: "f" } })).status).toBe(200);
  });

  it("keeps priced calls in a budget counter rebuilt from Postgres after Redis lost it", async () => {
    const { alpha } = await registerServers({ price_per_call_usd: 0.01 });
    const made = await admin("POST", "/admin/keys", { max_budget: 0.025, settings: { mcp_servers: [alpha] } });
    const client = new McpSession(String(made.body.key));
    await client.initialize();
    const call = () => client.request("tools/call", { name: `${alpha}__echo`, arguments: { text: "r" } });
    for (const answer of [await call(), await call()]) {
      expect(answer.status).toBe(200);
      expect((await ledgerRow(answer.requestId))?.costUsd).toBeCloseTo(0.01, 9);
    }
    const redis = new Redis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN });
    const stored = await redis.keys(`sluice:c:key:${String(made.body.id)}:*`);
    expect(stored.length).toBeGreaterThan(0);
    await redis.del(...stored);
    // Rebuilt from the ledger, the key's budget holds the two calls' $0.02: a third ($0.03) does not fit.
    const refused = await call();
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ code: -32029, data: { code: "budget_exceeded" } });
    expect(Number(await redis.get(`sluice:c:key:${String(made.body.id)}:usd:b:life`))).toBe(20_000_000);
  });

  it("records a tool's own failure as such", async () => {
    const { alpha } = await registerServers();
    const client = new McpSession(await keyFor({ mcp_servers: [alpha] }));
    await client.initialize();
    const failed = await client.request("tools/call", { name: `${alpha}__fail` });
    expect(failed.body.result?.isError).toBe(true);
    expect((await ledgerRow(failed.requestId))?.status).toBe("tool_error");
  });
});

describe("servers that are down or slow", () => {
  it("answer a JSON-RPC error within the server's timeout, and leave the others working", async () => {
    const { alpha } = await registerServers();
    const dead = uniqueId("dead").toLowerCase();
    await admin("POST", "/admin/mcp/servers", { name: dead, url: "http://127.0.0.1:9/mcp", timeout_ms: 1000 });
    const slow = uniqueId("slow").toLowerCase();
    await admin("POST", "/admin/mcp/servers", {
      name: slow,
      url: `${mockRoot}/mcp/alpha`,
      auth: { type: "bearer", token: MOCK_MCP_ALPHA_TOKEN },
      timeout_ms: 300,
    });
    const client = new McpSession(await keyFor({ mcp_servers: [alpha, dead, slow] }));
    expect((await client.initialize()).status).toBe(200);
    // The dead server is left out of the list; the others are there.
    const names = await client.toolNames();
    expect(names).toContain(`${alpha}__echo`);
    expect(names).toContain(`${slow}__echo`);
    expect(names.some((name) => name.startsWith(dead))).toBe(false);

    const started = Date.now();
    const down = await client.request("tools/call", { name: `${dead}__anything` });
    expect(down.status).toBe(200);
    expect(down.body.error).toMatchObject({ code: -32002, data: { type: "upstream", code: "mcp_upstream_error" } });
    const late = await client.request("tools/call", { name: `${slow}__slow`, arguments: { ms: 5000 } });
    expect(late.body.error).toMatchObject({ code: -32008, message: `MCP server \`${slow}\` did not answer within 300 ms.` });
    expect(Date.now() - started).toBeLessThan(4000);
    expect((await ledgerRow(late.requestId))?.status).toBe("error");
    // On its own route, a dead server's failure is the answer to `initialize`.
    const alone = new McpSession(client.credential, `/mcp/${dead}`);
    const init = await alone.request("initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "t", version: "1" },
    });
    expect(init.body.error?.code).toBe(-32002);
  });
});
