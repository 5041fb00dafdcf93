// What a caller cannot get around on `/mcp`: a user's tool call limits count
// every key they mint together with their own token, a call refused by one
// window or subject uses up none of the others, and a message without an id
// reaches the servers only as a `notifications/…`. The mock upstream plays
// the MCP server and records what reached it (`dev/mock-upstream/mcp.ts`).
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { MOCK_MCP_ALPHA_TOKEN } from "../dev/mock-upstream/mcp.ts";
import { mcpCalls } from "../src/db/schema.ts";
import { BASE, callWorker, db } from "./helpers.ts";
import { admin, appToken, uniqueId } from "./identity.ts";

const mockRoot = String(env.MOCK_BASE_URL).replace(/\/v1$/, "");

interface Answer {
  status: number;
  headers: Headers;
  body: { jsonrpc?: string; id?: unknown; result?: Record<string, unknown>; error?: Record<string, unknown> };
  requestId: string;
  /** Resolves once the request's deferred work (forwarding a notification, the ledger row) is done. */
  settled: () => Promise<void>;
}

/** An MCP client of the gateway with one credential: `initialize` first, then the session on every message. */
class Client {
  sessionId: string | undefined;
  private nextId = 1;

  constructor(
    readonly credential: string,
    readonly path = "/mcp",
  ) {}

  async post(message: Record<string, unknown>): Promise<Answer> {
    const { response, settled } = await callWorker(
      new Request(`${BASE}${this.path}`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${this.credential}`,
          "content-type": "application/json",
          accept: "application/json",
          ...(this.sessionId && { "mcp-session-id": this.sessionId }),
        },
        body: JSON.stringify(message),
      }),
    );
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text ? JSON.parse(text) : {},
      requestId: response.headers.get("x-request-id") ?? "",
      settled,
    };
  }

  request(method: string, params?: Record<string, unknown>) {
    return this.post({ jsonrpc: "2.0", id: this.nextId++, method, ...(params && { params }) });
  }

  async initialize(): Promise<this> {
    const answer = await this.request("initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "mcp-shared-limits-test", version: "1.0.0" },
    });
    expect(answer.status).toBe(200);
    this.sessionId = answer.headers.get("mcp-session-id") ?? undefined;
    expect((await this.post({ jsonrpc: "2.0", method: "notifications/initialized" })).status).toBe(202);
    return this;
  }
}

/** Registers the mock's `alpha` server under a fresh name. */
async function registerAlpha(): Promise<string> {
  const alpha = uniqueId("a").toLowerCase();
  const made = await admin("POST", "/admin/mcp/servers", {
    name: alpha,
    url: `${mockRoot}/mcp/alpha`,
    auth: { type: "bearer", token: MOCK_MCP_ALPHA_TOKEN },
  });
  expect(made.status).toBe(201);
  return alpha;
}

/** Every message the mock's MCP servers received for one gateway request, in order. */
async function reachedUpstream(requestId: string): Promise<{ path: string; body: Record<string, unknown> }[]> {
  const response = await fetch(`${mockRoot}/__mock/requests/${encodeURIComponent(requestId)}/attempts`);
  expect(response.status).toBe(200);
  return response.json();
}

async function ledgerRow(requestId: string, waitMs = 5000) {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const [row] = await db().select().from(mcpCalls).where(eq(mcpCalls.requestId, requestId));
    if (row || Date.now() > deadline) return row;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function mintKey(jwt: string): Promise<{ key: string; id: string }> {
  const { response } = await callWorker(
    new Request(`${BASE}/api/keys`, { method: "POST", headers: { authorization: `Bearer ${jwt}` }, body: "{}" }),
  );
  expect(response.status).toBe(201);
  return (await response.json()) as { key: string; id: string };
}

const callEcho = (client: Client, alpha: string, text: string) =>
  client.request("tools/call", { name: `${alpha}__echo`, arguments: { text } });

describe("a user's tool call limits", () => {
  it("count the user's own token and every key they mint together, exactly under concurrency", async () => {
    const alpha = await registerAlpha();
    const user = uniqueId("mcp-minter");
    expect(
      (await admin("POST", "/admin/users", { id: user, settings: { mcp_servers: [alpha], mcp_calls_per_day: 5 } })).status,
    ).toBe(201);
    const jwt = await appToken({ sub: user });
    const first = await mintKey(jwt);
    const second = await mintKey(jwt);
    const clients = await Promise.all(
      [new Client(jwt), new Client(first.key), new Client(second.key)].map((c) => c.initialize()),
    );

    // Four calls from each of the three: the user has five a day, however many keys they hold.
    const answers = await Promise.all(
      clients.flatMap((client, i) => Array.from({ length: 4 }, (_, n) => callEcho(client, alpha, `c${i}-${n}`))),
    );
    const admitted = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 429);
    expect(admitted).toHaveLength(5);
    expect(refused).toHaveLength(7);
    for (const answer of admitted) expect(answer.body.result?.isError).toBeUndefined();
    for (const answer of refused) {
      expect(answer.body.error).toMatchObject({
        code: -32029,
        message: "Tool call limit reached: 5 per day (UTC).",
        data: { type: "rate_limit", code: "mcp_rate_limited" },
      });
      expect(answer.headers.get("x-ratelimit-limit-tool-calls-day")).toBe("5");
      expect(answer.headers.get("x-ratelimit-remaining-tool-calls-day")).toBe("0");
      expect(Number(answer.headers.get("retry-after"))).toBeGreaterThan(0);
    }

    // A key minted now starts with nothing left either.
    const third = await new Client((await mintKey(jwt)).key).initialize();
    const late = await callEcho(third, alpha, "late");
    expect(late.status).toBe(429);
    expect(late.body.error?.message).toBe("Tool call limit reached: 5 per day (UTC).");

    // Only the admitted calls reached the server; each call is in the ledger under the caller that made it.
    await Promise.all([...answers, late].map((answer) => answer.settled()));
    for (const answer of admitted) {
      const reached = await reachedUpstream(answer.requestId);
      expect(reached).toHaveLength(1);
      expect(reached[0]?.body).toMatchObject({ method: "tools/call", params: { name: "echo" } });
    }
    for (const answer of [...refused, late]) expect(await reachedUpstream(answer.requestId)).toEqual([]);
    const rows = await Promise.all([...answers, late].map((answer) => ledgerRow(answer.requestId)));
    expect(rows.filter((row) => row?.status === "ok")).toHaveLength(5);
    expect(rows.filter((row) => row?.status === "rate_limited")).toHaveLength(8);
    for (const row of rows) expect(row).toMatchObject({ server: alpha, tool: "echo", userId: user });
    const keyIds = new Set(rows.map((row) => row?.keyId ?? null));
    expect(keyIds.size).toBe(4);
    for (const id of [null, first.id, second.id]) expect(keyIds.has(id)).toBe(true);
  });

  it("hold a key with a lower number of its own to that number for its own calls, and to the user's for all", async () => {
    const alpha = await registerAlpha();
    const user = uniqueId("mcp-owner");
    expect(
      (await admin("POST", "/admin/users", { id: user, settings: { mcp_servers: [alpha], mcp_calls_per_day: 5 } })).status,
    ).toBe(201);
    const jwt = await new Client(await appToken({ sub: user })).initialize();
    const narrow = await admin("POST", "/admin/keys", { user_id: user, settings: { mcp_calls_per_day: 2 } });
    expect(narrow.status).toBe(201);
    const key = await new Client(String(narrow.body.key)).initialize();
    const statuses: number[] = [];
    // Three by the user's token leave the user two: the key's own two are not used up by calls it did not make.
    for (let i = 0; i < 3; i++) statuses.push((await callEcho(jwt, alpha, `u${i}`)).status);
    const byKey: Answer[] = [];
    for (let i = 0; i < 3; i++) byKey.push(await callEcho(key, alpha, `k${i}`));
    expect([...statuses, ...byKey.map((a) => a.status)]).toEqual([200, 200, 200, 200, 200, 429]);
    expect(byKey[2]?.body.error?.message).toBe("Tool call limit reached: 2 per day (UTC).");
    // The user's five are spent, by token and key together.
    const after = await callEcho(jwt, alpha, "u3");
    expect(after.status).toBe(429);
    expect(after.body.error?.message).toBe("Tool call limit reached: 5 per day (UTC).");
  });

  it("use nothing up when a call is refused: a call over the minute's limit is not counted against the day", async () => {
    const alpha = await registerAlpha();
    // Far enough from the minute's end that the minute window does not turn over during the calls.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 45_000) await new Promise((resolve) => setTimeout(resolve, 60_500 - intoMinute));
    const made = await admin("POST", "/admin/keys", {
      settings: { mcp_servers: [alpha], mcp_calls_per_minute: 2, mcp_calls_per_day: 3 },
    });
    expect(made.status).toBe(201);
    const client = await new Client(String(made.body.key)).initialize();
    const answers: Answer[] = [];
    for (let i = 0; i < 5; i++) answers.push(await callEcho(client, alpha, `m${i}`));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 429, 429, 429]);
    expect(answers[1]?.headers.get("x-ratelimit-remaining-tool-calls-day")).toBe("1");
    for (const refused of answers.slice(2)) {
      expect(refused.body.error?.message).toBe("Tool call limit reached: 2 per minute.");
      expect(refused.headers.get("x-ratelimit-remaining-tool-calls")).toBe("0");
      // The day still has its one call left: the refused calls took none of it.
      expect(refused.headers.get("x-ratelimit-remaining-tool-calls-day")).toBe("1");
      expect(refused.headers.get("x-ratelimit-limit-tool-calls-day")).toBe("3");
    }
  });
});

describe("a message without an id", () => {
  it("reaches the servers only as a notification; a request sent as one is refused and never forwarded", async () => {
    const alpha = await registerAlpha();
    const made = await admin("POST", "/admin/keys", {
      settings: { mcp_servers: [alpha], mcp_tools: [`${alpha}__echo`], mcp_calls_per_day: 100 },
    });
    expect(made.status).toBe(201);
    const key = String(made.body.key);
    const client = await new Client(key).initialize();

    // As a request, the tool outside the key's list is unknown.
    const denied = await client.request("tools/call", { name: `${alpha}__delete_repo`, arguments: {} });
    expect(denied.status).toBe(200);
    expect(denied.body.error).toMatchObject({ code: -32602, message: `Unknown tool: ${alpha}__delete_repo` });

    // Without an id it is no notification: refused, on `/mcp` and on `/mcp/{server}` alike.
    const scoped = await new Client(key, `/mcp/${alpha}`).initialize();
    const smuggled = [
      await client.post({ jsonrpc: "2.0", method: "tools/call", params: { name: `${alpha}__delete_repo`, arguments: {} } }),
      await scoped.post({ jsonrpc: "2.0", method: "tools/call", params: { name: "delete_repo", arguments: {} } }),
      await scoped.post({ jsonrpc: "2.0", method: "resources/subscribe", params: { uri: "alpha://readme" } }),
    ];
    for (const answer of smuggled) {
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({
        jsonrpc: "2.0",
        id: null,
        error: { code: -32600, data: { type: "invalid_request", code: "invalid_request", param: "id" } },
      });
      expect(String(answer.body.error?.message)).toContain("needs an id");
      await answer.settled();
      expect(await reachedUpstream(answer.requestId)).toEqual([]);
      expect(await ledgerRow(answer.requestId, 200)).toBeUndefined();
    }

    // A notification still goes to the session's server, as it was sent.
    const cancelled = await client.post({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 9 } });
    expect(cancelled.status).toBe(202);
    await cancelled.settled();
    const reached = await reachedUpstream(cancelled.requestId);
    expect(reached.map((message) => message.body)).toEqual([
      { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 9 } },
    ]);
    expect(reached[0]?.path).toBe("/mcp/alpha");
  });
});
