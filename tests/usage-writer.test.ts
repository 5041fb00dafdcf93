import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { Redis } from "@upstash/redis/cloudflare";
import { describe, expect, it } from "vitest";
import worker from "../src/index.ts";
import type { UsageRecord } from "../src/usage/record.ts";
import { DEAD_USAGE_KEY, PARKED_USAGE_KEY } from "../src/usage/writer.ts";
import { BASE, callWorker, chat, jsonRequest, usageRow } from "./helpers.ts";
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
