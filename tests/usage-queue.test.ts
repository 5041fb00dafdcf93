// Usage records through the queue: a request's record reaches the ledger by
// way of the consumer, a batch is one insert, a bad record is set aside
// without holding up the rest, an unreachable Postgres means a retry, and
// what runs out of retries is parked for the cron.
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { Redis } from "@upstash/redis/cloudflare";
import { describe, expect, it } from "vitest";
import worker from "../src/index.ts";
import type { UsageMessage, UsageRecord } from "../src/usage/record.ts";
import { DEAD_USAGE_KEY, PARKED_USAGE_KEY } from "../src/usage/writer.ts";
import { callWorker, chat, jsonRequest, usageRow } from "./helpers.ts";
import { admin } from "./identity.ts";

const redis = () => new Redis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN });

function record(fields: Partial<UsageRecord> = {}): UsageRecord {
  return {
    requestId: `req_queue_${crypto.randomUUID().replaceAll("-", "")}`,
    principalType: "admin",
    principalId: "admin",
    userId: null,
    keyId: null,
    teamId: null,
    provider: "mock",
    model: "mock-echo",
    upstreamModel: "mock-echo",
    clientFormat: "openai",
    promptTokens: 7,
    completionTokens: 5,
    cachedTokens: 0,
    cacheWriteTokens: 0,
    costUsd: 0.000017,
    latencyMs: 12.4,
    ttfbMs: 3.2,
    status: 200,
    error: null,
    streamed: false,
    attempts: 1,
    metadata: { session_id: "s-1" },
    createdAt: Date.now() - 5000,
    ...fields,
  };
}

async function consume(queue: string, bodies: UsageMessage[], bindings: object = env) {
  const batch = createMessageBatch<UsageMessage>(
    queue,
    bodies.map((body, i) => ({ id: `m${i}`, timestamp: new Date(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, bindings as typeof env);
  return await getQueueResult(batch, ctx);
}

describe("the usage queue", () => {
  it("carries a request's record to the ledger: the consumer writes it, not the request", async () => {
    // This request's own Postgres is unreachable; only the queue's consumer can write its record.
    const { response, settled } = await callWorker(jsonRequest("/v1/chat/completions", chat("through the queue")), {
      ...env,
      DATABASE_URL: "postgres://u:p@127.0.0.1:9/db",
    });
    expect(response.status).toBe(200);
    await settled();
    const row = await usageRow(response.headers.get("x-request-id") ?? "");
    expect(row).toMatchObject({ status: 200, promptTokens: 3, completionTokens: 3, provider: "mock", streamed: false });
  });

  it("writes a batch in one go, the time of each request kept", async () => {
    const records = [record(), record({ model: "mock-lorem", completionTokens: 40 }), record({ status: 502, error: "cut" })];
    const result = await consume("sluice-usage", [records.slice(0, 2), records.slice(2)]);
    expect(result.ackAll).toBe(true);
    expect(result.retryMessages).toEqual([]);
    for (const sent of records) {
      const row = await usageRow(sent.requestId, { waitMs: 0 });
      expect(row).toMatchObject({
        model: sent.model,
        completionTokens: sent.completionTokens,
        status: sent.status,
        error: sent.error,
        metadata: { session_id: "s-1" },
      });
      expect(row?.createdAt.getTime()).toBe(sent.createdAt);
    }
  });

  it("sets aside a record Postgres refuses, and writes the others of its batch", async () => {
    await redis().del(DEAD_USAGE_KEY);
    const good = record();
    const bad = record({ model: "mock-echo\u0000" });
    const result = await consume("sluice-usage", [[good, bad]]);
    expect(result.ackAll).toBe(true);
    expect(await usageRow(good.requestId, { waitMs: 0 })).toMatchObject({ requestId: good.requestId });
    expect(await usageRow(bad.requestId, { waitMs: 0 })).toBeUndefined();
    const dead = await redis().lrange<UsageRecord>(DEAD_USAGE_KEY, 0, -1);
    expect(dead.map((r) => r.requestId)).toEqual([bad.requestId]);
    // And an operator can see it.
    const { body } = await admin("GET", "/admin/usage/undelivered");
    expect(body).toMatchObject({ dead: 1, dead_records: [{ requestId: bad.requestId, model: "mock-echo\u0000" }] });
  });

  it("retries a batch, with backoff, while Postgres cannot be reached", async () => {
    const sent = record();
    const result = await consume("sluice-usage", [[sent]], { ...env, DATABASE_URL: "postgres://u:p@127.0.0.1:9/db" });
    expect(result.ackAll).toBe(false);
    expect(result.retryMessages).toMatchObject([{ msgId: "m0" }]);
    expect(await usageRow(sent.requestId, { waitMs: 0 })).toBeUndefined();
  });

  it("parks what ran out of retries, where the cron drains it from", async () => {
    await redis().del(PARKED_USAGE_KEY);
    const records = [record(), record()];
    const result = await consume("sluice-usage-dlq", [records]);
    expect(result.ackAll).toBe(true);
    const parked = await redis().lrange<UsageRecord>(PARKED_USAGE_KEY, 0, -1);
    expect(parked.map((r) => r.requestId)).toEqual(records.map((r) => r.requestId));
    await redis().del(PARKED_USAGE_KEY);
  });
});
