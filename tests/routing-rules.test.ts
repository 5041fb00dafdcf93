// Routes end to end: a name clients ask for as their model, served by a rule
// tree kept in Postgres and managed through /admin/routes. Splits land where
// the evaluator says (and explain agrees), conditions read the request and
// the caller, the budget switch moves a caller to the cheaper arm once its
// budget is mostly used, a failing arm falls over to the route's fallbacks,
// `fastest` moves traffic off a failing model, and every routed call says
// which way it went in a header and on its ledger row.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { hashPoint } from "../src/routing/rules/evaluate.ts";
import { BASE, callWorker, chat, sseData, TEST_ADMIN_KEY, usageRow } from "./helpers.ts";
import { admin, appToken, uniqueId } from "./identity.ts";

/** Two catalog models on a mock-kind provider (which passes `x-mock-*` on): `echo` (mock-echo) and `lorem` (mock-lorem). */
async function models(prefix: string, prices: { echo?: number; lorem?: number } = {}) {
  const provider = uniqueId(`${prefix}-p`);
  expect((await admin("POST", "/admin/providers", { id: provider, kind: "mock", base_url: env.MOCK_BASE_URL })).status).toBe(201);
  const echo = uniqueId(`${prefix}-echo`);
  const lorem = uniqueId(`${prefix}-lorem`);
  for (const [id, upstream, output] of [
    [echo, "mock-echo", prices.echo ?? 2],
    [lorem, "mock-lorem", prices.lorem ?? 1],
  ] as const) {
    const made = await admin("POST", "/admin/models", {
      id,
      provider,
      upstream_id: upstream,
      input_usd_per_mtok: 0,
      output_usd_per_mtok: output,
    });
    expect(made.status).toBe(201);
  }
  return { echo, lorem, provider };
}

async function newRoute(body: Record<string, unknown>) {
  const made = await admin("POST", "/admin/routes", body);
  expect(made.status, JSON.stringify(made.body)).toBe(201);
  return String(made.body.name);
}

interface AskOptions {
  key?: string;
  headers?: Record<string, string>;
  body?: Record<string, unknown>;
  bindings?: object;
}

function ask(model: string, options: AskOptions = {}) {
  return callWorker(
    new Request(`${BASE}/v1/chat/completions`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${options.key ?? TEST_ADMIN_KEY}`,
        "content-type": "application/json",
        ...options.headers,
      },
      body: JSON.stringify(chat("route me", { model, max_tokens: 5, ...options.body })),
    }),
    options.bindings,
  );
}

describe("/admin/routes", () => {
  let m: Awaited<ReturnType<typeof models>>;
  beforeAll(async () => {
    m = await models("rr-admin");
  });
  const rule = () => ({
    type: "split",
    arms: [
      { name: "control", weight: 90, route: { type: "model", model: m.echo } },
      { name: "canary", weight: 10, route: { type: "model", model: m.lorem } },
    ],
  });

  it("creates, lists, reads, changes and deletes a route", async () => {
    const name = uniqueId("rr-crud");
    const made = await admin("POST", "/admin/routes", { name, description: "A canary", rule: rule(), fallbacks: [m.lorem] });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ name, description: "A canary", rule: rule(), fallbacks: [m.lorem], enabled: true });
    expect((await admin("POST", "/admin/routes", { name, rule: rule() })).status).toBe(409);
    const listed = (await admin("GET", "/admin/routes")).body.data as { name: string }[];
    expect(listed.map((r) => r.name)).toContain(name);
    expect((await admin("GET", `/admin/routes/${name}`)).body).toMatchObject({ name, fallbacks: [m.lorem] });
    const changed = await admin("PATCH", `/admin/routes/${name}`, { enabled: false, fallbacks: [] });
    expect(changed.body).toMatchObject({ enabled: false, fallbacks: [] });
    expect((await admin("DELETE", `/admin/routes/${name}`)).body).toEqual({ name, deleted: true });
    expect((await admin("GET", `/admin/routes/${name}`)).status).toBe(404);
  });

  it("refuses, when the route is saved, what would go wrong at request time, naming the problem", async () => {
    const refusals: [Record<string, unknown>, string][] = [
      [
        { rule: { ...rule(), arms: rule().arms.map((a) => ({ ...a, weight: 30 })) } },
        "Invalid `rule.arms`: weights add up to 60, not 100",
      ],
      [
        {
          rule: {
            type: "match",
            cases: [{ name: "x", when: [{ field: "mood", op: "eq", value: "sad" }], route: { type: "model", model: m.echo } }],
            default: { type: "model", model: m.lorem },
          },
        },
        "`mood` is not a field a condition can test",
      ],
      [
        { rule: { type: "model", model: "no-such-model-anywhere" } },
        "Invalid `rule.model`: no provider configured here serves the model `no-such-model-anywhere`",
      ],
      [{ rule: { type: "model", model: m.echo }, fallbacks: ["no-such-model-anywhere"] }, "Invalid `fallbacks.0`"],
      [{ name: m.echo, rule: { type: "model", model: m.lorem } }, "is a model's name"],
      [{ name: "mock-echo", rule: { type: "model", model: m.lorem } }, "is a model's name"],
      [
        {
          rule: {
            type: "budget",
            threshold: 0,
            over: { type: "model", model: m.echo },
            under: { type: "model", model: m.lorem },
          },
        },
        "Invalid `rule.threshold`",
      ],
    ];
    for (const [body, message] of refusals) {
      const refused = await admin("POST", "/admin/routes", { name: uniqueId("rr-bad"), ...body });
      expect(refused.status, message).toBe(400);
      expect((refused.body.error as { message: string }).message).toContain(message);
    }
    // A route does not lead to another route.
    const inner = await newRoute({ name: uniqueId("rr-inner"), rule: { type: "model", model: m.echo } });
    const nested = await admin("POST", "/admin/routes", { name: uniqueId("rr-outer"), rule: { type: "model", model: inner } });
    expect((nested.body.error as { message: string }).message).toContain(`Invalid \`rule.model\`: \`${inner}\` is a route`);
  });
});

describe("a model that is not a route", () => {
  it("is served as before: no route header, no route on its row", async () => {
    const call = await ask("mock-echo");
    expect(call.response.status).toBe(200);
    expect(call.response.headers.get("x-sluice-route")).toBeNull();
    await call.response.arrayBuffer();
    await call.landed();
    const row = await usageRow(call.response.headers.get("x-request-id") ?? "");
    expect(row?.metadata).not.toHaveProperty("route_name");
    expect(row?.metadata).not.toHaveProperty("route_arm");
  });

  it("a disabled route is no name at all, and a route takes no provider", async () => {
    const m = await models("rr-off");
    const name = await newRoute({ name: uniqueId("rr-off"), rule: { type: "model", model: m.echo } });
    const pinned = await ask(name, { body: { provider: "mock" } });
    expect(pinned.response.status).toBe(400);
    expect(((await pinned.response.json()) as { error: { message: string; param: string } }).error).toMatchObject({
      param: "provider",
      message: `\`${name}\` is a route: its rules pick the provider, so it takes no \`provider\`.`,
    });
    expect((await admin("PATCH", `/admin/routes/${name}`, { enabled: false })).status).toBe(200);
    const off = await ask(name);
    expect(off.response.status).toBe(404);
    await off.response.arrayBuffer();
  });
});

describe("a weighted split", () => {
  let m: Awaited<ReturnType<typeof models>>;
  let name: string;
  beforeAll(async () => {
    m = await models("rr-split");
    name = await newRoute({
      name: uniqueId("rr-split"),
      rule: {
        type: "split",
        by: "header",
        header: "x-session",
        arms: [
          { name: "control", weight: 70, route: { type: "model", model: m.echo } },
          { name: "canary", weight: 30, route: { type: "model", model: m.lorem } },
        ],
      },
    });
  });

  it("puts each session where its hash says, 200 sessions within the weights, and names the arm in a header", async () => {
    const counts = { control: 0, canary: 0 };
    for (let i = 0; i < 200; i++) {
      const session = `session-${i}`;
      const expected = hashPoint(`${name}/:${session}`) * 100 < 70 ? "control" : "canary";
      const { response } = await ask(name, { headers: { "x-session": session } });
      expect(response.status).toBe(200);
      expect(response.headers.get("x-sluice-route")).toBe(`${name}/${expected}`);
      expect(response.headers.get("x-sluice-model")).toBe(expected === "control" ? "mock-echo" : "mock-lorem");
      counts[expected]++;
      await response.arrayBuffer();
    }
    expect(counts.control).toBeGreaterThanOrEqual(120);
    expect(counts.control).toBeLessThanOrEqual(160);
  });

  it("keeps a session on its arm, and explain agrees with what the request did", async () => {
    const arms = new Set<string | null>();
    for (let i = 0; i < 10; i++) {
      const { response } = await ask(name, { headers: { "x-session": "sticky-one" } });
      arms.add(response.headers.get("x-sluice-route"));
      await response.arrayBuffer();
    }
    expect(arms.size).toBe(1);
    const explained = await admin("POST", `/admin/routes/${name}/explain`, {
      request: { headers: { "X-Session": "sticky-one" } },
    });
    expect(explained.status).toBe(200);
    expect(`${name}/${explained.body.arm}`).toBe([...arms][0]);
    expect(explained.body.steps).toEqual([
      { node: "split", arm: explained.body.arm, reason: expect.stringContaining("split by header") },
    ]);
  });

  it("writes the route, its arm and why on the ledger row, and the usage API groups by route_arm", async () => {
    const call = await ask(name, { headers: { "x-session": "ledger-one" } });
    const arm = call.response.headers.get("x-sluice-route");
    await call.response.arrayBuffer();
    await call.landed();
    const row = await usageRow(call.response.headers.get("x-request-id") ?? "");
    expect(row?.metadata).toMatchObject({ route_name: name, route_reason: expect.stringContaining("split by header") });
    expect(`${name}/${row?.metadata.route_arm}`).toBe(arm);
    expect(row?.model).toBe(arm?.endsWith("control") ? m.echo : m.lorem);
    const usage = await callWorker(
      new Request(`${BASE}/admin/usage?group_by=route_arm`, { headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } }),
    );
    const groups = ((await usage.response.json()) as { data: { route_arm: string | null; requests: number }[] }).data;
    const mine = groups.filter((g) => g.route_arm?.startsWith(`${name}/`));
    expect(mine.map((g) => g.route_arm).sort()).toEqual([`${name}/canary`, `${name}/control`]);
    expect(mine.reduce((sum, g) => sum + g.requests, 0)).toBeGreaterThanOrEqual(211);
  });
});

describe("conditions", () => {
  let m: Awaited<ReturnType<typeof models>>;
  let name: string;
  beforeAll(async () => {
    m = await models("rr-match");
    name = await newRoute({
      name: uniqueId("rr-match"),
      rule: {
        type: "match",
        cases: [
          { name: "eu", when: [{ field: "header.x-region", op: "eq", value: "eu" }], route: { type: "model", model: m.lorem } },
          {
            name: "streamed-tools",
            when: [
              { field: "stream", op: "eq", value: true },
              { field: "tools", op: "eq", value: true },
            ],
            route: { type: "model", model: m.lorem },
          },
          {
            name: "pro",
            when: [{ field: "key.metadata.plan", op: "eq", value: "pro" }],
            route: { type: "model", model: m.lorem },
          },
        ],
        default: { type: "model", model: m.echo },
      },
    });
  });
  const tools = [{ type: "function", function: { name: "f", parameters: { type: "object", properties: {} } } }];

  it("route by header, by the request's shape and by the key's metadata, else the default", async () => {
    const pro = await admin("POST", "/admin/keys", { name: uniqueId("rr-pro"), metadata: { plan: "pro" } });
    const cases: [AskOptions, string][] = [
      [{ headers: { "x-region": "eu" } }, "eu"],
      [{ body: { stream: true, tools } }, "streamed-tools"],
      [{ body: { stream: true } }, "default"],
      [{ body: { tools } }, "default"],
      [{ key: String(pro.body.key) }, "pro"],
      [{}, "default"],
    ];
    for (const [options, arm] of cases) {
      const { response } = await ask(name, options);
      expect(response.status).toBe(200);
      expect(response.headers.get("x-sluice-route"), JSON.stringify(options)).toBe(`${name}/${arm}`);
      // Why is the routes' readers' to see: the admin key is told, a key's caller is not (the ledger keeps it).
      if (options.key) expect(response.headers.get("x-sluice-route-reason")).toBeNull();
      else expect(response.headers.get("x-sluice-route-reason")).toBeTruthy();
      if (options?.body?.stream) expect((await sseData(response)).at(-1)).toBe("[DONE]");
      else await response.arrayBuffer();
    }
  });

  it("a key whose allowlist does not name the route is refused with a 403", async () => {
    const narrow = await admin("POST", "/admin/keys", { name: uniqueId("rr-narrow"), models: [m.echo] });
    const { response } = await ask(name, { key: String(narrow.body.key) });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain(`route \`${name}\``);
  });
});

describe("a key's tier", () => {
  it("is its owner's, so a key its user mints falls in the same branch as their token", async () => {
    const user = uniqueId("rr-tier");
    expect((await admin("POST", "/admin/users", { id: user, tier: "pro" })).status).toBe(201);
    const owned = String((await admin("POST", "/admin/keys", { user_id: user })).body.key);
    const ownerless = String((await admin("POST", "/admin/keys", { name: uniqueId("rr-tier") })).body.key);
    const name = await newRoute({
      name: uniqueId("rr-tier"),
      rule: {
        type: "match",
        cases: [
          { name: "pro", when: [{ field: "tier", op: "eq", value: "pro" }], route: { type: "model", model: "mock-lorem" } },
        ],
        default: { type: "model", model: "mock-echo" },
      },
    });
    for (const [key, arm] of [
      [owned, "pro"],
      [ownerless, "default"],
    ] as const) {
      const { response } = await ask(name, { key });
      expect(response.status).toBe(200);
      expect(response.headers.get("x-sluice-route")).toBe(`${name}/${arm}`);
      await response.arrayBuffer();
    }
  });
});

describe("conditions on the end user's JWT claims", () => {
  it("route by any claim, nested or namespaced, and explain agrees", async () => {
    const m = await models("rr-claims");
    const name = await newRoute({
      name: uniqueId("rr-claims"),
      rule: {
        type: "match",
        cases: [
          { name: "pro", when: [{ field: "claims.plan", op: "eq", value: "pro" }], route: { type: "model", model: m.lorem } },
          {
            name: "beta-org",
            when: [
              { field: "claims.org.beta", op: "eq", value: true },
              { field: "claims.https://example.com/roles", op: "eq", value: "tester" },
            ],
            route: { type: "model", model: m.lorem },
          },
        ],
        default: { type: "model", model: m.echo },
      },
    });
    const cases: [Record<string, unknown>, string][] = [
      [{ plan: "pro" }, "pro"],
      [{ plan: "free" }, "default"],
      [{ org: { beta: true }, "https://example.com/roles": ["user", "tester"] }, "beta-org"],
      [{ org: { beta: true }, "https://example.com/roles": ["user"] }, "default"],
      [{}, "default"],
    ];
    for (const [claims, arm] of cases) {
      const token = await appToken({ sub: uniqueId("rr-claims-user"), ...claims });
      const { response } = await ask(name, { key: token });
      expect(response.status, JSON.stringify(claims)).toBe(200);
      expect(response.headers.get("x-sluice-route"), JSON.stringify(claims)).toBe(`${name}/${arm}`);
      await response.arrayBuffer();
      const explained = await admin("POST", `/admin/routes/${name}/explain`, { caller: { principal: "user", claims } });
      expect(explained.body.arm, JSON.stringify(claims)).toBe(arm);
    }
    // A key holds no claims: the default, whatever its metadata says.
    const key = await admin("POST", "/admin/keys", { name: uniqueId("rr-claims-key"), metadata: { plan: "pro" } });
    const { response } = await ask(name, { key: String(key.body.key) });
    expect(response.headers.get("x-sluice-route")).toBe(`${name}/default`);
    await response.arrayBuffer();
  });

  it("a claim path that is no path is refused when the route is saved", async () => {
    const m = await models("rr-claims-bad");
    const made = await admin("POST", "/admin/routes", {
      name: uniqueId("rr-claims-bad"),
      rule: {
        type: "match",
        cases: [{ name: "x", when: [{ field: "claims.", op: "exists" }], route: { type: "model", model: m.lorem } }],
        default: { type: "model", model: m.echo },
      },
    });
    expect(made.status).toBe(400);
    expect(JSON.stringify(made.body)).toContain("claims.<path>");
  });
});

describe("the budget switch", () => {
  it("moves a key to the cheaper arm once the limits check has seen its budget mostly used", async () => {
    // Output at $0.10 a token: a 9-token cap reserves $0.90 of the key's $1.
    const m = await models("rr-budget", { echo: 100_000, lorem: 0 });
    const name = await newRoute({
      name: uniqueId("rr-budget"),
      rule: { type: "budget", threshold: 0.8, over: { type: "model", model: m.lorem }, under: { type: "model", model: m.echo } },
    });
    const key = String((await admin("POST", "/admin/keys", { name: uniqueId("rr-budget"), max_budget: 1 })).body.key);
    const first = await ask(name, { key, body: { max_tokens: 9 } });
    expect(first.response.status).toBe(200);
    expect(first.response.headers.get("x-sluice-route")).toBe(`${name}/under`);
    await first.response.arrayBuffer();
    await first.settled();
    const second = await ask(name, { key, body: { max_tokens: 9 } });
    expect(second.response.status).toBe(200);
    expect(second.response.headers.get("x-sluice-route")).toBe(`${name}/over`);
    // Why is the ledger's to keep: a key's caller is not shown the budget it reads.
    expect(second.response.headers.get("x-sluice-route-reason")).toBeNull();
    await second.response.arrayBuffer();
    await second.landed();
    const row = await usageRow(second.response.headers.get("x-request-id") ?? "");
    expect(row?.metadata.route_reason).toMatch(/^over: budget \d+(\.\d)?% used, at or over 80%$/);
    // The caller's own rows name the route and arm, not why.
    const own = await callWorker(
      new Request(`${BASE}/api/ai/usage?request_id=${row?.requestId}`, { headers: { authorization: `Bearer ${key}` } }),
    );
    const [mine] = ((await own.response.json()) as { data: { metadata: Record<string, unknown> }[] }).data;
    expect(mine?.metadata).toMatchObject({ route_name: name, route_arm: "over" });
    expect(mine?.metadata).not.toHaveProperty("route_reason");
  });
});

describe("the budget switch under concurrency", () => {
  it("many parallel requests of one key: the under arm never spends past the budget, and the switch holds once seen", async () => {
    // Output at $0.10 a token on the under arm, free on the over arm; each under request reserves at most $0.10.
    const m = await models("rr-budget-many", { echo: 100_000, lorem: 0 });
    const name = await newRoute({
      name: uniqueId("rr-budget-many"),
      rule: { type: "budget", threshold: 0.5, over: { type: "model", model: m.lorem }, under: { type: "model", model: m.echo } },
    });
    const made = await admin("POST", "/admin/keys", { name: uniqueId("rr-budget-many"), max_budget: 1 });
    const key = String(made.body.key);
    let underTokens = 0;
    const wave = async (n: number) => {
      const calls = await Promise.all(Array.from({ length: n }, () => ask(name, { key, body: { max_tokens: 1 } })));
      return Promise.all(
        calls.map(async (call) => {
          const arm = call.response.headers.get("x-sluice-route")?.split("/").at(-1) ?? String(call.response.status);
          const body = (await call.response.json()) as { usage?: { completion_tokens: number } };
          await call.settled();
          if (arm === "under") underTokens += body.usage?.completion_tokens ?? 0;
          return arm;
        }),
      );
    };
    // One request first, so the isolate has seen the key's budget (a key it has never seen counts as under).
    const warm = await wave(1);
    const first = await wave(20);
    const second = await wave(20);
    const third = await wave(20);
    const all = [...warm, ...first, ...second, ...third];
    // No request is refused: the over arm is free, and the under arm stops before the budget.
    expect(all.filter((arm) => arm !== "under" && arm !== "over")).toEqual([]);
    const under = all.filter((arm) => arm === "under").length;
    // Exactly the threshold's worth ($0.50): each request admitted counts in the isolate's view at once.
    expect(under).toBe(5);
    // Once seen over, it stays over: the last wave is all on the cheaper arm.
    expect(third).toEqual(Array(20).fill("over"));
    // What the under arm served, at $0.10 an output token, is within the budget's threshold and one wave.
    expect(underTokens * 0.1).toBeCloseTo(0.5, 9);
  });

  it("a cold burst of a key the isolate has not seen yet may go under, and the budget refuses what it cannot cover", async () => {
    const m = await models("rr-budget-cold", { echo: 100_000, lorem: 0 });
    const name = await newRoute({
      name: uniqueId("rr-budget-cold"),
      rule: { type: "budget", threshold: 0.5, over: { type: "model", model: m.lorem }, under: { type: "model", model: m.echo } },
    });
    const key = String((await admin("POST", "/admin/keys", { name: uniqueId("rr-budget-cold"), max_budget: 1 })).body.key);
    const calls = await Promise.all(Array.from({ length: 20 }, () => ask(name, { key, body: { max_tokens: 1 } })));
    let served = 0;
    let refused = 0;
    for (const call of calls) {
      if (call.response.status === 200) {
        const tokens = ((await call.response.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens;
        if (call.response.headers.get("x-sluice-route") === `${name}/under`) served += tokens * 0.1;
      } else {
        expect(call.response.status).toBe(429);
        await call.response.arrayBuffer();
        refused++;
      }
      await call.settled();
    }
    // Before the first answer of the limits check the isolate cannot know the key is near its budget: the burst
    // goes under until it does, and the reservations refuse (429) what the budget cannot cover. Never past it.
    expect(served).toBeLessThanOrEqual(1 + 1e-9);
    expect(served + refused * 0.1).toBeGreaterThan(0.5);
    const after = await ask(name, { key, body: { max_tokens: 1 } });
    expect(after.response.headers.get("x-sluice-route")).toBe(`${name}/over`);
    await after.response.arrayBuffer();
  });
});

describe("the provider spend switch", () => {
  it("moves traffic off a provider once its spend this month passes the figure, and explain agrees", async () => {
    // Output at $0.10 a token on the watched provider; the other is free.
    const watched = await models("rr-spend", { echo: 100_000 });
    const other = await models("rr-spend-other", { lorem: 0 });
    const name = await newRoute({
      name: uniqueId("rr-spend"),
      rule: {
        type: "provider_spend",
        provider: watched.provider,
        usd_per_month: 0.05,
        over: { type: "model", model: other.lorem },
        under: { type: "model", model: watched.echo },
      },
    });
    const first = await ask(name, { body: { max_tokens: 5 } });
    expect(first.response.status).toBe(200);
    expect(first.response.headers.get("x-sluice-route")).toBe(`${name}/under`);
    expect(first.response.headers.get("x-sluice-route-reason")).toBe(`${watched.provider} spent $0.00 this month, under $0.05`);
    await first.response.arrayBuffer();
    await first.landed();
    const row = await usageRow(String(first.response.headers.get("x-request-id")));
    expect(row?.provider).toBe(watched.provider);
    expect(row?.costUsd).toBeGreaterThanOrEqual(0.05);
    // What a catalog refresh reads; an admin change makes this isolate refresh now.
    expect((await admin("PATCH", `/admin/routes/${name}`, { description: "spent" })).status).toBe(200);
    const explained = await admin("POST", `/admin/routes/${name}/explain`, {});
    expect(explained.body).toMatchObject({ arm: "over", model: other.lorem });
    const second = await ask(name);
    expect(second.response.status).toBe(200);
    expect(second.response.headers.get("x-sluice-route")).toBe(`${name}/over`);
    expect(second.response.headers.get("x-sluice-route-reason")).toMatch(
      new RegExp(`^${watched.provider} spent \\$0\\.\\d+ this month, at or over \\$0\\.05$`),
    );
    await second.response.arrayBuffer();
    // Explain can be told the spend instead.
    const told = await admin("POST", `/admin/routes/${name}/explain`, { provider_spend: { [watched.provider]: 0.01 } });
    expect(told.body).toMatchObject({ arm: "under", model: watched.echo });
  });

  it("a provider that does not exist is refused when the route is saved", async () => {
    const m = await models("rr-spend-bad");
    const made = await admin("POST", "/admin/routes", {
      name: uniqueId("rr-spend-bad"),
      rule: {
        type: "provider_spend",
        provider: "no-such-provider",
        usd_per_month: 10,
        over: { type: "model", model: m.lorem },
        under: { type: "model", model: m.echo },
      },
    });
    expect(made.status).toBe(400);
    expect(made.body).toMatchObject({ error: { param: "rule" } });
    expect(JSON.stringify(made.body)).toContain("`no-such-provider`, which is no provider here");
  });
});

describe("fallbacks under a route", () => {
  it("a failing arm falls over to the route's fallbacks, and the row keeps the route and the attempts", async () => {
    const m = await models("rr-fallback");
    const name = await newRoute({ name: uniqueId("rr-fallback"), rule: { type: "model", model: m.echo }, fallbacks: [m.lorem] });
    const call = await ask(name, { headers: { "x-mock-fail": "503", "x-mock-fail-model": "mock-echo" } });
    expect(call.response.status).toBe(200);
    expect(call.response.headers.get("x-sluice-route")).toBe(name);
    expect(call.response.headers.get("x-sluice-model")).toBe("mock-lorem");
    await call.response.arrayBuffer();
    await call.landed();
    const row = await usageRow(call.response.headers.get("x-request-id") ?? "");
    expect(row?.metadata).toMatchObject({ route_name: name, route_arm: "" });
    const steps = ((row?.metadata.route ?? []) as { model: string; outcome: string }[]).map((s) => [s.model, s.outcome]);
    expect(steps.at(-1)).toEqual(["mock-lorem", "ok"]);
    expect(steps[0]).toEqual(["mock-echo", "503"]);
  });
});

describe("fastest of equivalent models", () => {
  it("takes traffic off a model that fails, and gives it back once it heals", async () => {
    const m = await models("rr-fast");
    const name = await newRoute({
      name: uniqueId("rr-fast"),
      rule: { type: "fastest", models: [m.echo, m.lorem], explore: 0.2 },
      fallbacks: [m.echo, m.lorem],
    });
    // Cooldowns would keep the failing model out for a while whatever the route says: not what is tested here.
    const bindings = { ...env, COOLDOWN_FAILURES: "1000", UPSTREAM_RETRIES: "0" };
    const picks = async (n: number, headers: Record<string, string>) => {
      const arms: string[] = [];
      for (let i = 0; i < n; i++) {
        const { response } = await ask(name, { headers, bindings });
        expect(response.status).toBe(200);
        arms.push(response.headers.get("x-sluice-route") ?? "");
        await response.arrayBuffer();
      }
      return arms.filter((arm) => arm === `${name}/${m.echo}`).length;
    };
    const failing = { "x-mock-fail": "503", "x-mock-fail-model": "mock-echo" };
    await picks(10, failing);
    // Failing: only its half of the exploring share (10%, so 4 of 40) still reaches it.
    expect(await picks(40, failing)).toBeLessThanOrEqual(10);
    // Healed: what exploring brings it answers well, its error rate halves each time, and it is back in the running.
    // Both answer after a steady 20 ms, so a busy machine's jitter stays inside what `fastest` calls a tie.
    const steady = { "x-mock-latency-ms": "20" };
    await picks(150, steady);
    expect(await picks(60, steady)).toBeGreaterThanOrEqual(12);
  });
});
