import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { Redis } from "@upstash/redis/cloudflare";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { configFor } from "../src/config/index.ts";
import worker from "../src/index.ts";
import { servicesFor } from "../src/services.ts";
import { drainParkedUsage } from "../src/usage/drain.ts";
import type { UsageRecord } from "../src/usage/record.ts";
import { DEAD_USAGE_KEY, insertUsage, PARKED_USAGE_KEY, writeRecords } from "../src/usage/writer.ts";
import { BASE, callWorker, chat, db, jsonRequest, usageRow } from "./helpers.ts";
import { admin, chatAs, errorOf } from "./identity.ts";

describe("the deferred usage writer", () => {
  it("parks a record it cannot write and the cron writes it later: nothing is dropped", async () => {
    const redis = new Redis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN });
    await redis.del(PARKED_USAGE_KEY);
    // Postgres is unreachable for this request, and no queue is bound: the isolate writes (and parks) itself.
    const broken = { ...env, DATABASE_URL: "postgres://u:p@127.0.0.1:9/db", USAGE_QUEUE: undefined };
    const { response, settled } = await callWorker(jsonRequest("/v1/chat/completions", chat("bill me later")), broken);
    expect(response.status).toBe(200);
    const requestId = response.headers.get("x-request-id") ?? "";
    await settled();
    expect(await usageRow(requestId, { waitMs: 0 })).toBeUndefined();
    const parked = await redis.lrange<UsageRecord>(PARKED_USAGE_KEY, 0, -1);
    expect(parked).toHaveLength(1);
    expect(parked[0]).toMatchObject({ requestId, promptTokens: 3, completionTokens: 3, status: 200 });

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController(), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await usageRow(requestId)).toMatchObject({ requestId, promptTokens: 3, completionTokens: 3, status: 200 });
    expect(await redis.llen(PARKED_USAGE_KEY)).toBe(0);
  });

  it("drains past a parked record Postgres refuses: it is set aside as dead, the ones behind it written", async () => {
    const redis = new Redis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN });
    await redis.del(PARKED_USAGE_KEY, DEAD_USAGE_KEY);
    const broken = { ...env, DATABASE_URL: "postgres://u:p@127.0.0.1:9/db", USAGE_QUEUE: undefined };
    // Parked during an outage: an ordinary record, and ahead of it one with a model name Postgres will not
    // store (requests cannot carry one any more: the schemas refuse control characters).
    const good = await callWorker(jsonRequest("/v1/chat/completions", chat("good")), broken);
    await good.settled();
    const [parked] = await redis.lrange<UsageRecord>(PARKED_USAGE_KEY, 0, -1);
    expect(parked).toMatchObject({ requestId: good.response.headers.get("x-request-id"), status: 200 });
    const badId = "req_refused_by_postgres";
    await redis.lpush(PARKED_USAGE_KEY, { ...parked, requestId: badId, model: "mock-echo\u0000" });
    expect(await redis.llen(PARKED_USAGE_KEY)).toBe(2);

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController(), env, ctx);
    await waitOnExecutionContext(ctx);
    const goodId = good.response.headers.get("x-request-id") ?? "";
    expect(await usageRow(goodId, { waitMs: 0 })).toMatchObject({ requestId: goodId, status: 200 });
    expect(await redis.llen(PARKED_USAGE_KEY)).toBe(0);
    const dead = await redis.lrange<UsageRecord>(DEAD_USAGE_KEY, 0, -1);
    expect(dead.map((r) => r.requestId)).toEqual([badId]);
  });
});

describe("the drain of parked records", () => {
  const redis = () => new Redis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN });
  const services = () => servicesFor(configFor(env), { USAGE_QUEUE: undefined });

  /** Records as a served request leaves them, with ids of their own. */
  async function parkedRecords(count: number, tag: string): Promise<UsageRecord[]> {
    const broken = { ...env, DATABASE_URL: "postgres://u:p@127.0.0.1:9/db", USAGE_QUEUE: undefined };
    await redis().del(PARKED_USAGE_KEY);
    const served = await callWorker(jsonRequest("/v1/chat/completions", chat(tag)), broken);
    await served.settled();
    const [template] = await redis().lrange<UsageRecord>(PARKED_USAGE_KEY, 0, 0);
    await redis().del(PARKED_USAGE_KEY);
    if (!template) throw new Error("no record was parked");
    return Array.from({ length: count }, (_, i) => ({ ...template, requestId: `req_${tag}_${i}` }));
  }

  const ledgerCount = async (prefix: string) => {
    const rows = await db().execute(sql`select count(*)::int as n from usage_events where request_id like ${`${prefix}%`}`);
    return Number((rows.rows[0] as { n: number }).n);
  };

  it("loses nothing when a drain is cut off after writing and before trimming, and writes nothing twice", async () => {
    const tag = `cut${crypto.randomUUID().slice(0, 6)}`;
    const records = await parkedRecords(30, tag);
    await redis().rpush(PARKED_USAGE_KEY, ...records.map((r) => JSON.stringify(r)));
    // A drain that wrote its first batch and was killed: the records are in the ledger and still parked.
    await insertUsage(services(), records.slice(0, 20));
    expect(await drainParkedUsage(services())).toBe(30);
    expect(await ledgerCount(`req_${tag}_`)).toBe(30);
    expect(await redis().llen(PARKED_USAGE_KEY)).toBe(0);
  });

  it("empties a long backlog in one run, as fast as Postgres takes batches", async () => {
    const tag = `backlog${crypto.randomUUID().slice(0, 6)}`;
    const records = await parkedRecords(2_500, tag);
    for (let i = 0; i < records.length; i += 500) {
      await redis().rpush(PARKED_USAGE_KEY, ...records.slice(i, i + 500).map((r) => JSON.stringify(r)));
    }
    expect(await drainParkedUsage(services())).toBe(2_500);
    expect(await ledgerCount(`req_${tag}_`)).toBe(2_500);
    expect(await redis().llen(PARKED_USAGE_KEY)).toBe(0);
  });

  it("writes a record whose upstream error text holds a NUL, without it", async () => {
    const tag = `nul${crypto.randomUUID().slice(0, 6)}`;
    const [record] = await parkedRecords(1, tag);
    if (!record) throw new Error("no record");
    await writeRecords(services(), [{ ...record, status: 502, error: "upstream said \u0000 nothing" }]);
    expect(await usageRow(record.requestId, { waitMs: 0 })).toMatchObject({ status: 502, error: "upstream said  nothing" });
  });
});

describe("while Postgres is away", () => {
  const broken = { ...env, DATABASE_URL: "postgres://u:p@127.0.0.1:9/db", USAGE_QUEUE: undefined };

  it("answers a key it has not seen with a 503 saying so, in the caller's format, not a 500", async () => {
    const created = await admin("POST", "/admin/keys", { name: "cold", models: ["mock-*"] });
    expect(created.status).toBe(201);
    const { response } = await callWorker(chatAs(created.body.key ?? ""), broken);
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("2");
    expect(await errorOf(response)).toMatchObject({
      type: "service_unavailable",
      code: "database_unavailable",
      message: "The database cannot be reached just now; try again shortly.",
    });

    const anthropic = await callWorker(
      new Request(`${BASE}/v1/messages`, {
        method: "POST",
        headers: { "x-api-key": created.body.key ?? "", "anthropic-version": "2023-06-01", "content-type": "application/json" },
        body: JSON.stringify({ model: "mock-echo", max_tokens: 16, messages: [{ role: "user", content: "hi" }] }),
      }),
      broken,
    );
    expect(anthropic.response.status).toBe(503);
    expect(await anthropic.response.json()).toMatchObject({
      type: "error",
      error: { message: "The database cannot be reached just now; try again shortly." },
    });
  });

  it("serves a key it has seen from its copy", async () => {
    const created = await admin("POST", "/admin/keys", { name: "warm", models: ["mock-*"] });
    expect((await callWorker(chatAs(created.body.key ?? ""))).response.status).toBe(200);
    const { response, settled } = await callWorker(chatAs(created.body.key ?? ""), broken);
    expect(response.status).toBe(200);
    await settled();
  });
});
