import { env } from "cloudflare:test";
import { Redis } from "@upstash/redis/cloudflare";
import { eq, sql } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { usageEvents } from "../src/db/schema.ts";
import { windowsAt } from "../src/limits/windows.ts";
import { callWorker, db } from "./helpers.ts";
import { admin, chatAs, errorOf, uniqueId } from "./identity.ts";

const redis = () => new Redis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN });

async function newKey(fields: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const { status, body } = await admin("POST", "/admin/keys", fields);
  expect(status).toBe(201);
  return { id: String(body.id), key: String(body.key) };
}

/** Keeps a test away from the edge of a one-minute window, where sliding-window arithmetic shifts. */
async function awayFromMinuteEdge(): Promise<void> {
  const intoMinute = Date.now() % 60_000;
  if (intoMinute > 50_000) await new Promise((resolve) => setTimeout(resolve, 60_000 - intoMinute + 200));
}

describe("requests per minute", () => {
  it("admits exactly 10 of 200 concurrent requests on a key limited to 10/min", async () => {
    await awayFromMinuteEdge();
    const { key } = await newKey({ rpm_limit: 10 });
    const calls = await Promise.all(Array.from({ length: 200 }, () => callWorker(chatAs(key))));
    const statuses = calls.map((call) => call.response.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(190);

    const refused = calls.find((call) => call.response.status === 429)?.response as Response;
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(refused.headers.get("x-ratelimit-limit-requests")).toBe("10");
    expect(refused.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    expect(refused.headers.get("x-ratelimit-reset-requests")).toMatch(/^\d+s$/);
    expect(await errorOf(refused)).toMatchObject({
      type: "rate_limit_exceeded",
      code: "rate_limit_exceeded",
      message: "Rate limit reached: 10 requests per minute for this key.",
    });

    const admitted = calls.find((call) => call.response.status === 200)?.response as Response;
    expect(admitted.headers.get("x-ratelimit-limit-requests")).toBe("10");
    expect(Number(admitted.headers.get("x-ratelimit-remaining-requests"))).toBeLessThan(10);
    await Promise.all(calls.map((call) => call.settled()));
  });

  it("admits exactly 10 when the 200 requests are spread over two Worker instances", async () => {
    await awayFromMinuteEdge();
    const { key } = await newKey({ rpm_limit: 10 });
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        i % 2 === 0 ? callWorker(chatAs(key)).then((call) => call.response) : env.SECOND_INSTANCE.fetch(chatAs(key)),
      ),
    );
    expect(responses.filter((r) => r.status === 200)).toHaveLength(10);
    expect(responses.filter((r) => r.status === 429)).toHaveLength(190);
  });
});

describe("budgets", () => {
  it("a $0.01 budget under 100 concurrent requests is never exceeded by more than the largest reservation, and settles to the ledger", async () => {
    const { id, key } = await newKey({ max_budget: 0.01 });
    const body = { model: "mock-lorem", max_tokens: 400, messages: [{ role: "user", content: "write" }] };
    const calls = await Promise.all(Array.from({ length: 100 }, () => callWorker(chatAs(key, body, { "x-mock-tokens": "400" }))));
    await Promise.all(calls.map((call) => (call.response.status === 200 ? call.landed() : call.settled())));
    const admitted = calls.filter((call) => call.response.status === 200).length;
    const refused = calls.filter((call) => call.response.status === 429);
    expect(admitted).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    expect(await errorOf(refused[0]?.response as Response)).toMatchObject({
      code: "budget_exceeded",
      message: "The budget of $0.01 for this key is spent.",
    });

    const [ledger] = await db()
      .select({ spent: sql<string>`sum(${usageEvents.costUsd})::text`, rows: sql<string>`count(*)::text` })
      .from(usageEvents)
      .where(eq(usageEvents.keyId, id));
    const spent = Number(ledger?.spent);
    expect(Number(ledger?.rows)).toBe(admitted);
    // Reservation: the input estimate (bytes / 3) plus 400 output tokens, at $1 and $2 per million.
    const largestReservation = (Math.ceil(JSON.stringify(body.messages).length / 3) * 1 + 400 * 2) / 1_000_000;
    expect(spent).toBeLessThanOrEqual(0.01 + largestReservation);
    // The settled counter in Redis equals the ledger, to the nano-dollar.
    const counter = Number(await redis().get(`sluice:c:key:${id}:usd:b:life`));
    expect(Math.abs(counter - spent * 1e9)).toBeLessThanOrEqual(admitted);
  });
});

describe("tokens per minute", () => {
  it("counts the real tokens once a request settles, not its reservation", async () => {
    await awayFromMinuteEdge();
    const { key } = await newKey({ tpm_limit: 5000 });
    const request = () => chatAs(key, { max_tokens: 200, messages: [{ role: "user", content: "one two three four" }] });
    const first = await callWorker(request());
    await first.settled();
    const second = await callWorker(request());
    await second.settled();
    const remaining = (call: { response: Response }) => Number(call.response.headers.get("x-ratelimit-remaining-tokens"));
    expect(first.response.headers.get("x-ratelimit-limit-tokens")).toBe("5000");
    // 4 prompt + 4 completion tokens: the first request's reservation shrank to what it used.
    expect(remaining(first) - remaining(second)).toBe(8);
  });
});

describe("daily and monthly quotas", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("refuses a user whose daily tokens are used up, until the day rolls over", async () => {
    const user = uniqueId("quota");
    await admin("POST", "/admin/users", { id: user, tokens_per_day: 20 });
    const { key } = await newKey({ user_id: user });
    const ask = () => callWorker(chatAs(key, { max_tokens: 5 }));
    // Each reserves 13 (input estimate) + 5 tokens and uses 6: the first fits in 20, the second (6 + 18) not.
    const first = await ask();
    expect(first.response.status).toBe(200);
    await first.settled();
    const refused = await ask();
    const error = await errorOf(refused.response);
    expect(error).toMatchObject({ status: 429, code: "insufficient_quota" });
    expect(error.message).toMatch(/^The daily token quota of 20 tokens for this user is used up\. It resets at /);
    expect(Number(refused.response.headers.get("retry-after"))).toBeGreaterThan(0);

    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 86_400_000);
    expect((await ask()).response.status).toBe(200);
  });

  it("rebuilds lost counters from the ledger: a user over quota stays refused after Redis forgets", async () => {
    const user = uniqueId("rebuild");
    await admin("POST", "/admin/users", { id: user, tokens_per_month: 20 });
    const { key } = await newKey({ user_id: user });
    const first = await callWorker(chatAs(key, { max_tokens: 5 }));
    // The ledger the counters are rebuilt from holds the first request.
    await first.landed();
    expect((await callWorker(chatAs(key, { max_tokens: 5 }))).response.status).toBe(429);
    const stored = await redis().keys(`sluice:c:user:${user}:*`);
    expect(stored.length).toBeGreaterThan(0);
    await redis().del(...stored);
    expect((await callWorker(chatAs(key, { max_tokens: 5 }))).response.status).toBe(429);
    const monthCounter = (await redis().keys(`sluice:c:user:${user}:tok:m:*`))[0] ?? "";
    expect(Number(await redis().get(monthCounter))).toBe(6);
  });

  it("rebuilds a realtime session's audio tokens too, as its session counted them", async () => {
    const user = uniqueId("rebuild");
    await admin("POST", "/admin/users", { id: user, tokens_per_month: 500 });
    const { id, key } = await newKey({ user_id: user });
    // A session's row as the realtime relay writes it: text tokens its own, audio tokens its media (counted 515 in all).
    await db()
      .insert(usageEvents)
      .values({
        requestId: uniqueId("rt"),
        principalType: "key",
        principalId: id,
        keyId: id,
        userId: user,
        provider: "openai",
        model: "gpt-realtime",
        clientFormat: "openai",
        promptTokens: 10,
        completionTokens: 5,
        latencyMs: 1000,
        status: 200,
        metadata: { modality: "realtime", media: { audioTokens: { input: 300, output: 200 } } },
      });
    // A row whose media holds no number counts none, and does not fail the rebuild.
    await db()
      .insert(usageEvents)
      .values({
        requestId: uniqueId("rt"),
        principalType: "key",
        principalId: id,
        keyId: id,
        userId: user,
        provider: "openai",
        model: "gpt-realtime",
        clientFormat: "openai",
        latencyMs: 1000,
        status: 200,
        metadata: { media: { audioTokens: { input: "lots", output: null } } },
      });
    const refused = await callWorker(chatAs(key, { max_tokens: 5 }));
    expect(await errorOf(refused.response)).toMatchObject({ status: 429, code: "insufficient_quota" });
    const monthCounter = (await redis().keys(`sluice:c:user:${user}:tok:m:*`))[0] ?? "";
    expect(Number(await redis().get(monthCounter))).toBe(515);
  });
});

describe("a limit an admin raises", () => {
  it("applies on another isolate from the request after the one refused under its old copy, not when that copy expires", async () => {
    const user = uniqueId("raised");
    await admin("POST", "/admin/users", { id: user, tokens_per_day: 20 });
    const { key } = await newKey({ user_id: user });
    const other = (body: Record<string, unknown>) => env.SECOND_INSTANCE.fetch(chatAs(key, body));
    expect((await other({ max_tokens: 5 })).status).toBe(200);
    // The second instance settles its 6 tokens in its own time: refused once they are counted.
    await expect.poll(async () => (await other({ max_tokens: 15 })).status, { timeout: 5_000 }).toBe(429);
    // Changed through this instance: the other still holds the key with its owner's old quota.
    expect((await admin("PATCH", `/admin/users/${user}`, { tokens_per_day: 10_000 })).status).toBe(200);
    const underOldCopy = await other({ max_tokens: 15 });
    expect(await errorOf(underOldCopy)).toMatchObject({ status: 429, code: "insufficient_quota" });
    const next = await other({ max_tokens: 15 });
    expect(next.status).toBe(200);
    expect(((await next.json()) as { usage: { total_tokens: number } }).usage.total_tokens).toBe(6);
  });
});

describe("when Redis cannot be reached", () => {
  const unreachable = { ...env, UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9" };

  it("fails closed for quotas and budgets by default, and says so", async () => {
    const { key } = await newKey({ rpm_limit: 100 });
    const { response } = await callWorker(chatAs(key), unreachable);
    expect(response.status).toBe(503);
    expect(response.headers.get("x-sluice-limits")).toBe("redis-unavailable; rate-limits=open; quotas=closed");
    expect(await errorOf(response)).toMatchObject({ code: "limits_unavailable" });
  });

  it("fails open when configured to, and says so", async () => {
    const { key } = await newKey({ rpm_limit: 100 });
    const { response } = await callWorker(chatAs(key), { ...unreachable, REDIS_FAILURE_QUOTAS: "open" });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-sluice-limits")).toBe("redis-unavailable; rate-limits=open; quotas=open");
  });
});

describe("teams", () => {
  it("a team's quota holds across all of its keys, and its usage rolls up to it", async () => {
    const team = uniqueId("org");
    const created = await admin("POST", "/admin/teams", { id: team, name: "Org", tokens_per_day: 20 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: team, quota: { tokens_per_day: 20 } });
    const first = await newKey({ team_id: team });
    const second = await newKey({ team_id: team });
    const used = await callWorker(chatAs(first.key, { max_tokens: 5 }));
    expect(used.response.status).toBe(200);
    await used.settled();
    // The other key of the same team meets the team's quota, already 6 tokens in.
    const error = await errorOf((await callWorker(chatAs(second.key, { max_tokens: 5 }))).response);
    expect(error).toMatchObject({ status: 429, code: "insufficient_quota" });
    expect(error.message).toContain("for this team");
  });

  it("shows a key its limits and what it has used", async () => {
    const { key } = await newKey({ rpm_limit: 50, max_budget: 2, budget_duration: "1mo" });
    const asked = await callWorker(chatAs(key));
    await asked.landed();
    const { response } = await callWorker(
      new Request("https://sluice.test/api/ai/quota", { headers: { authorization: `Bearer ${key}` } }),
    );
    const body = (await response.json()) as {
      principal: { type: string };
      limits: { key: Record<string, unknown> };
      used: Record<string, number>;
    };
    expect(body.principal.type).toBe("key");
    expect(body.limits.key).toMatchObject({ rpm_limit: 50, max_budget: 2, budget_duration: "1mo" });
    expect(body.used.tokens_today).toBe(6);
  });

  it("counts what a caller has used in the limits' own days and months, audio tokens included", async () => {
    const timeZone = "Asia/Kolkata"; // 5:30 from UTC: its midnight is never UTC's
    const zoned = { ...env, LIMITS_TIMEZONE: timeZone };
    const { id, key } = await newKey({});
    const now = Date.now();
    const windows = windowsAt(now, timeZone);
    const row = (createdAt: number, fields: Partial<typeof usageEvents.$inferInsert>) => ({
      requestId: uniqueId("quota"),
      principalType: "key",
      principalId: id,
      keyId: id,
      provider: "openai",
      model: "gpt-realtime",
      clientFormat: "openai",
      latencyMs: 10,
      status: 200,
      createdAt: new Date(createdAt),
      ...fields,
    });
    await db()
      .insert(usageEvents)
      .values([
        // The zone's midnight, and a realtime session's audio tokens counted with its text tokens: 7 + 300 + 200.
        row(windows.dayStartMs, {
          promptTokens: 4,
          completionTokens: 3,
          costUsd: 0.25,
          metadata: { modality: "realtime", media: { audioTokens: { input: 300, output: 200 } } },
        }),
        // A minute before it: yesterday in the zone, whatever day it is in UTC.
        row(windows.dayStartMs - 60_000, { promptTokens: 40, completionTokens: 2, costUsd: 1 }),
      ]);
    const yesterdayThisMonth = windows.dayStartMs - 60_000 >= windows.monthStartMs;
    const { response } = await callWorker(
      new Request("https://sluice.test/api/ai/quota", { headers: { authorization: `Bearer ${key}` } }),
      zoned,
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as { used: Record<string, number> };
    expect(body.used).toEqual({
      tokens_today: 507,
      tokens_this_month: yesterdayThisMonth ? 549 : 507,
      usd_today: 0.25,
      usd_this_month: yesterdayThisMonth ? 1.25 : 0.25,
    });
  });
});
