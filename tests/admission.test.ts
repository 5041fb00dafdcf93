// How the limits check is kept off the request's path, and that nothing it
// guarantees gives way: a lease drawn in the isolate, a check overlapped with
// the upstream call, and the check first when room is unknown.
import { env } from "cloudflare:test";
import { Redis } from "@upstash/redis/cloudflare";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { usageEvents } from "../src/db/schema.ts";
import { type Call, callWorker, db, upstreamRequest, usageRow } from "./helpers.ts";
import { admin, chatAs, errorOf } from "./identity.ts";

const redis = () => new Redis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Holds every reply of the Redis stand-in back by `ms`, as a store in another region would. */
const placeRedis = (ms: number) => fetch(`${env.UPSTASH_REDIS_REST_URL}/__stats/delay?ms=${ms}`, { method: "POST" });

async function newKey(fields: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const { status, body } = await admin("POST", "/admin/keys", fields);
  expect(status).toBe(201);
  return { id: String(body.id), key: String(body.key) };
}

const requestIdOf = (call: Call) => call.response.headers.get("x-request-id") ?? "";

describe("a check overlapped with the upstream call", () => {
  const DISTANCE_MS = 800;

  it("goes first while the isolate has not seen the caller's room", async () => {
    const { key } = await newKey({ rpm_limit: 1000 });
    await placeRedis(DISTANCE_MS);
    try {
      const started = Date.now();
      const call = await callWorker(chatAs(key));
      expect(call.response.status).toBe(200);
      const upstream = await upstreamRequest(requestIdOf(call));
      // Nothing went upstream before the (distant) gate had answered.
      expect(upstream.receivedAt - started).toBeGreaterThanOrEqual(DISTANCE_MS);
      await call.settled();
      expect((await usageRow(requestIdOf(call)))?.metadata).toMatchObject({ admission: "sequential" });
    } finally {
      await placeRedis(0);
    }
  });

  it("runs alongside the upstream call once the isolate has seen ample room, and holds the answer until it admits", async () => {
    const { key } = await newKey({ rpm_limit: 1000 });
    const warm = await callWorker(chatAs(key));
    expect(warm.response.status).toBe(200);
    await warm.settled();
    await placeRedis(DISTANCE_MS);
    try {
      const started = Date.now();
      const call = await callWorker(chatAs(key));
      const answeredAfter = Date.now() - started;
      expect(call.response.status).toBe(200);
      const upstream = await upstreamRequest(requestIdOf(call));
      // The upstream had the request before any reply of the distant gate could have come back…
      expect(upstream.receivedAt - started).toBeLessThan(DISTANCE_MS);
      // …and the answer waited for the gate, whose limits it carries.
      expect(answeredAfter).toBeGreaterThanOrEqual(DISTANCE_MS);
      expect(call.response.headers.get("x-ratelimit-limit-requests")).toBe("1000");
      expect(Number(call.response.headers.get("x-ratelimit-remaining-requests"))).toBeLessThan(1000);
      await call.settled();
      expect((await usageRow(requestIdOf(call)))?.metadata).toMatchObject({ admission: "overlapped" });
    } finally {
      await placeRedis(0);
    }
  });

  it("aborts the upstream call of a request the check refuses, answers the refusal, and records the attempt", async () => {
    const { id, key } = await newKey({ rpm_limit: 1000 });
    const warm = await callWorker(chatAs(key));
    await warm.settled();
    // Revoked in another isolate: only the deny marker in Redis says so.
    await redis().set(`sluice:deny:key:${id}`, "1", { ex: 60 });
    await placeRedis(600);
    try {
      const call = await callWorker(chatAs(key, {}, { "x-mock-latency-ms": "5000" }));
      expect(await errorOf(call.response)).toMatchObject({ status: 401, message: "This API key has been revoked." });
      const requestId = requestIdOf(call);
      await call.settled();
      const row = await usageRow(requestId);
      expect(row).toMatchObject({ status: 401, promptTokens: 0, completionTokens: 0, costUsd: 0, attempts: 1 });
      expect(row?.metadata).toMatchObject({ admission: "overlapped", refused_after_upstream_start: true });
      // The upstream saw the attempt start, and saw it go away before its answer.
      for (let i = 0; i < 50 && !(await upstreamRequest(requestId)).abandoned; i++) await sleep(50);
      expect((await upstreamRequest(requestId)).abandoned).toBe(true);
    } finally {
      await placeRedis(0);
      await redis().del(`sluice:deny:key:${id}`);
    }
  });
});

describe("leases", () => {
  /** Requests back to back for a while, as a busy caller sends them. */
  async function busy(key: string, ms: number, limit = 400): Promise<Call[]> {
    const calls: Call[] = [];
    const until = Date.now() + ms;
    while (Date.now() < until && calls.length < limit) {
      const call = await callWorker(chatAs(key));
      expect(call.response.status).toBe(200);
      calls.push(call);
    }
    return calls;
  }

  it("lets a busy caller's isolate hand out reservations itself, and settles the counters to the ledger exactly", async () => {
    const { id, key } = await newKey({ rpm_limit: 100_000, tpm_limit: 10_000_000, max_budget: 100 });
    const calls = await busy(key, 2500);
    const last = calls.slice(-20);
    const modes = await Promise.all(last.map(async (call) => (await usageRow(requestIdOf(call)))?.metadata.admission));
    // Most drew from a lease: no round trip before their upstream call.
    expect(
      modes.filter((mode) => mode === "lease").length,
      `${calls.length} calls; last modes ${modes.join(",")}`,
    ).toBeGreaterThanOrEqual(15);

    // Once every lease has run out and given back what it did not hand out, the counters equal the ledger.
    await Promise.all(calls.map((call) => call.settled()));
    await Promise.all(calls.map((call) => call.landed()));
    const [ledger] = await db()
      .select({
        usd: sql<string>`sum(${usageEvents.costUsd})::text`,
        tokens: sql<string>`sum(${usageEvents.promptTokens} + ${usageEvents.completionTokens})::text`,
        rows: sql<string>`count(*)::text`,
      })
      .from(usageEvents)
      .where(eq(usageEvents.keyId, id));
    expect(Number(ledger?.rows)).toBe(calls.length);
    const budget = Number(await redis().get(`sluice:c:key:${id}:usd:b:life`));
    expect(Math.abs(budget - Number(ledger?.usd) * 1e9)).toBeLessThanOrEqual(calls.length);
    const [dayTokens] = await redis().keys(`sluice:c:key:${id}:tok:d:*`);
    expect(Number(await redis().get(dayTokens ?? ""))).toBe(Number(ledger?.tokens));
  });

  it("still refuses a revoked key within a second, lease or not", async () => {
    const { id, key } = await newKey({ rpm_limit: 100_000, max_budget: 100 });
    const calls = await busy(key, 1500);
    expect((await usageRow(requestIdOf(calls.at(-1) as Call)))?.metadata.admission).toBe("lease");
    // Revoked elsewhere: this isolate holds the key in its cache and a lease in hand.
    await redis().set(`sluice:deny:key:${id}`, "1", { ex: 60 });
    try {
      await sleep(1100);
      const refused = await callWorker(chatAs(key));
      expect(await errorOf(refused.response)).toMatchObject({ status: 401, message: "This API key has been revoked." });
    } finally {
      await redis().del(`sluice:deny:key:${id}`);
      await Promise.all(calls.map((call) => call.settled()));
    }
  });
});
