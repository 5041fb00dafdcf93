// Usage that leaves the building: the billing outbox delivered to a signed
// webhook at least once (after the response, retried with backoff, dead after
// its attempts and a day, replayed on demand, resumed by a delayed wake-up
// after a receiver's outage with no traffic), and budget alerts announced once
// per threshold.
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { Redis } from "@upstash/redis/cloudflare";
import { eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { configFor } from "../src/config/index.ts";
import { billingOutbox, usageEvents } from "../src/db/schema.ts";
import worker from "../src/index.ts";
import { servicesFor } from "../src/services.ts";
import { checkThresholds } from "../src/usage/alerts.ts";
import type { BillingWake } from "../src/usage/billing-queue.ts";
import { scheduleWake, WAKE_MARKER_KEY } from "../src/usage/billing-wake.ts";
import type { UsageRecord } from "../src/usage/record.ts";
import { deliverOutbox, OUTBOX_MAX_ATTEMPTS, retryDelaySeconds } from "../src/usage/webhooks.ts";
import { BASE, callWorker, db, TEST_ADMIN_KEY } from "./helpers.ts";
import { admin, chatAs, uniqueId } from "./identity.ts";

const mockRoot = String(env.MOCK_BASE_URL).replace(/\/v1$/, "");
const SECRET = "whsec_test_0123456789abcdef";

interface Received {
  headers: Record<string, string>;
  body: string;
  status: number;
}

/** A receiver of its own at the mock, so tests do not read each other's deliveries. */
function receiver(name = uniqueId("hook")) {
  const url = `${mockRoot}/__mock/hooks/${name}`;
  return {
    url,
    target: { url, secret: SECRET },
    failNext: (times: number) => fetch(`${url}/fail?times=${times}`, { method: "POST" }),
    received: async () => (await (await fetch(url)).json()) as Received[],
  };
}

/**
 * What a receiver does with a delivery, written here from the documented
 * scheme rather than with Sluice's own code: HMAC-SHA256 of "<t>.<raw body>"
 * under the secret, hex, compared with `v1`, and `t` no older than five minutes.
 */
async function verify(delivery: Received, secret = SECRET): Promise<boolean> {
  const header = delivery.headers["x-sluice-signature"] ?? "";
  const t = /(?:^|,)t=(\d+)/.exec(header)?.[1] ?? "";
  const v1 = /(?:^|,)v1=([0-9a-f]+)/.exec(header)?.[1] ?? "";
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "verify",
  ]);
  const bytes = new Uint8Array((v1.match(/../g) ?? []).map((pair) => Number.parseInt(pair, 16)));
  const valid = await crypto.subtle.verify("HMAC", key, bytes, new TextEncoder().encode(`${t}.${delivery.body}`));
  return valid && Math.abs(Date.now() / 1000 - Number(t)) < 300;
}

const recordsIn = (deliveries: Received[]) =>
  deliveries
    .filter((d) => d.status === 200)
    .flatMap((d) => (JSON.parse(d.body) as { data: { request_id: string }[] }).data.map((r) => r.request_id));

/** A served request whose ledger row (and outbox row) is written; its bindings without a queue write it themselves. */
async function servedWith(bindings: Record<string, unknown>, credential = TEST_ADMIN_KEY): Promise<string> {
  const call = await callWorker(chatAs(credential), { ...env, USAGE_QUEUE: undefined, ...bindings });
  expect(call.response.status).toBe(200);
  await call.settled();
  return call.response.headers.get("x-request-id") ?? "";
}

const outboxRow = async (requestId: string) =>
  (await db().select().from(billingOutbox).where(eq(billingOutbox.requestId, requestId)))[0];

describe("the billing webhook", () => {
  it("receives a served request's record soon after the response, signed, with no step in between", async () => {
    // Other suites leave rows in the outbox (no webhook is configured for them): sent elsewhere first, so a
    // delivery run, which takes the oldest first, reaches this request's row in its first batches.
    const sink = receiver();
    while ((await deliverOutbox(db(), sink.target)).sent > 0) {
      // drained a share
    }
    const hook = receiver();
    const requestId = await servedWith({ BILLING_WEBHOOK_URL: hook.url, BILLING_WEBHOOK_SECRET: SECRET });
    const deliveries = await hook.received();
    const mine = deliveries.find((d) => d.body.includes(requestId));
    expect(mine).toBeDefined();
    const delivery = mine as Received;
    expect(delivery.headers["content-type"]).toBe("application/json");
    expect(delivery.headers["idempotency-key"]).toMatch(/^usage_[0-9a-f]{32}$/);
    expect(delivery.headers["x-sluice-signature"]).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(await verify(delivery)).toBe(true);
    const body = JSON.parse(delivery.body) as { type: string; data: Record<string, unknown>[] };
    expect(body.type).toBe("usage.batch");
    expect(body.data.find((r) => r.request_id === requestId)).toMatchObject({
      request_id: requestId,
      model: "mock-echo",
      provider: "mock",
      prompt_tokens: 3,
      completion_tokens: 3,
      cached_tokens: 0,
      cache_write_tokens: 0,
      status: 200,
    });
    expect((await outboxRow(requestId))?.sentAt).toBeInstanceOf(Date);
  });

  it("is what a receiver would refuse when the body or the secret is not the one signed", async () => {
    const hook = receiver();
    const requestId = await servedWith({ BILLING_WEBHOOK_URL: hook.url, BILLING_WEBHOOK_SECRET: SECRET });
    const delivery = (await hook.received()).find((d) => d.body.includes(requestId)) as Received;
    expect(await verify({ ...delivery, body: delivery.body.replace(requestId, "req_forged") })).toBe(false);
    expect(await verify(delivery, "whsec_some_other_secret")).toBe(false);
  });

  it("retries with backoff a receiver that fails twice, then marks each record sent once", async () => {
    const hook = receiver();
    // Written without a webhook configured: the rows wait in the outbox.
    const ids = [await servedWith({}), await servedWith({})];
    await hook.failNext(2);
    for (let attempt = 1; attempt <= 3; attempt++) {
      const run = await deliverOutbox(db(), hook.target, ids);
      const rows = await db().select().from(billingOutbox).where(inArray(billingOutbox.requestId, ids));
      expect(rows.map((row) => row.attempts)).toEqual([attempt, attempt]);
      if (attempt < 3) {
        expect(run).toMatchObject({ sent: 0, failed: 2 });
        // 15 s after the first failure, 30 s after the second.
        for (const row of rows) {
          const wait = (row.nextAttemptAt.getTime() - Date.now()) / 1000;
          expect(retryDelaySeconds(attempt)).toBe(15 * 2 ** (attempt - 1));
          expect(wait).toBeGreaterThan(15 * 2 ** (attempt - 1) - 5);
          expect(wait).toBeLessThanOrEqual(15 * 2 ** (attempt - 1) + 1);
          expect(row.sentAt).toBeNull();
          expect(row.lastError).toBe("HTTP 500");
        }
        // Not due yet: a run now sends nothing.
        expect(await deliverOutbox(db(), hook.target, ids)).toEqual({ sent: 0, failed: 0 });
        // The wait has passed.
        await db().update(billingOutbox).set({ nextAttemptAt: new Date() }).where(inArray(billingOutbox.requestId, ids));
      } else {
        expect(run).toEqual({ sent: 2, failed: 0 });
        expect(rows.every((row) => row.sentAt instanceof Date)).toBe(true);
      }
    }
    const deliveries = await hook.received();
    expect(deliveries.map((d) => d.status)).toEqual([500, 500, 200]);
    // The same batch each time, under the same idempotency key.
    expect(new Set(deliveries.map((d) => d.headers["idempotency-key"])).size).toBe(1);
    expect(recordsIn(deliveries).sort()).toEqual([...ids].sort());
    // Nothing left to send.
    expect(await deliverOutbox(db(), hook.target, ids)).toEqual({ sent: 0, failed: 0 });
  });

  it("keeps trying a record past its last attempt until it is a day old", async () => {
    const hook = receiver();
    const requestId = await servedWith({});
    await db()
      .update(billingOutbox)
      .set({ attempts: OUTBOX_MAX_ATTEMPTS + 5, createdAt: new Date(Date.now() - 23 * 3_600_000) })
      .where(eq(billingOutbox.requestId, requestId));
    await hook.failNext(1);
    expect(await deliverOutbox(db(), hook.target, [requestId])).toMatchObject({ sent: 0, failed: 1 });
    const row = await outboxRow(requestId);
    expect(row?.deadAt).toBeNull();
    // Still at the cap, however many attempts came before.
    expect(((row?.nextAttemptAt.getTime() ?? 0) - Date.now()) / 1000).toBeGreaterThan(110 - 5);
  });

  it("sets a record aside as dead after its last attempt and a day, lists it, and replays it on demand", async () => {
    const hook = receiver();
    const requestId = await servedWith({});
    await db()
      .update(billingOutbox)
      .set({ attempts: OUTBOX_MAX_ATTEMPTS - 1, createdAt: new Date(Date.now() - 25 * 3_600_000) })
      .where(eq(billingOutbox.requestId, requestId));
    await hook.failNext(1);
    expect(await deliverOutbox(db(), hook.target, [requestId])).toMatchObject({ sent: 0, failed: 1 });
    expect((await outboxRow(requestId))?.deadAt).toBeInstanceOf(Date);

    const listing = await callWorker(
      new Request(`${BASE}/admin/billing/outbox?status=dead&limit=500`, {
        headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
      }),
    );
    const listed = (await listing.response.json()) as {
      counts: { dead: number };
      data: { request_id: string; last_error: string }[];
    };
    expect(listed.counts.dead).toBeGreaterThanOrEqual(1);
    expect(listed.data.find((row) => row.request_id === requestId)).toMatchObject({ last_error: "HTTP 500" });

    const replay = await callWorker(
      new Request(`${BASE}/admin/billing/outbox/replay`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ request_ids: [requestId] }),
      }),
      { ...env, BILLING_WEBHOOK_URL: hook.url, BILLING_WEBHOOK_SECRET: SECRET },
    );
    expect(await replay.response.json()).toEqual({ replayed: 1, request_ids: [requestId] });
    await replay.settled();
    expect(recordsIn(await hook.received())).toEqual([requestId]);
    expect(await outboxRow(requestId)).toMatchObject({ deadAt: null, attempts: 1 });
    expect((await outboxRow(requestId))?.sentAt).toBeInstanceOf(Date);
  });

  it("refuses a webhook URL without a secret, by name", async () => {
    const { response } = await callWorker(new Request(`${BASE}/health`), {
      ...env,
      BILLING_WEBHOOK_URL: "https://billing.example.com/hook",
    });
    expect(response.status).toBe(500);
    expect(JSON.stringify(await response.json())).toContain("BILLING_WEBHOOK_SECRET is required");
  });
});

const redis = () => new Redis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The billing queue as Cloudflare runs it, in the test's hands: each message
 * reaches the Worker's queue consumer once its delay has passed, with the
 * bindings the test names (the consumer's own environment). `delays` are the
 * ones the gateway asked for, `sentBeforeAnyRan` those asked for before the
 * first wake-up ran; `stop` ends the chain.
 */
function delayedQueue(consumerEnv: () => object) {
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const running = new Set<Promise<void>>();
  const delays: number[] = [];
  const acked: boolean[] = [];
  let ran = 0;
  let sentBeforeAnyRan = 0;
  const binding = {
    async send(message: BillingWake, options?: { delaySeconds?: number }) {
      const delaySeconds = options?.delaySeconds ?? 0;
      delays.push(delaySeconds);
      if (ran === 0) sentBeforeAnyRan++;
      const timer = setTimeout(() => {
        timers.delete(timer);
        ran++;
        const batch = createMessageBatch<BillingWake>("sluice-billing", [
          { id: `wake-${delays.length}`, timestamp: new Date(), attempts: 1, body: message },
        ]);
        const ctx = createExecutionContext();
        const run = worker
          .queue(batch, consumerEnv() as typeof env)
          .then(() => getQueueResult(batch, ctx))
          .then((result) => void acked.push(result.ackAll));
        running.add(run);
        void run.finally(() => running.delete(run));
      }, delaySeconds * 1000);
      timers.add(timer);
    },
  };
  return {
    binding,
    delays,
    acked,
    sentBeforeAnyRan: () => sentBeforeAnyRan,
    stop: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.allSettled([...running]);
    },
  };
}

describe("billing delivery after a receiver outage", () => {
  it("asks for one wake-up for a burst of failures, an earlier one only when it is needed", async () => {
    await redis().del(WAKE_MARKER_KEY);
    const queue = delayedQueue(() => env);
    const bindings = { ...env, BILLING_QUEUE: queue.binding };
    const services = servicesFor(configFor(bindings), bindings);
    const now = Date.now();
    await scheduleWake(services, now + 30_000);
    await scheduleWake(services, now + 30_500);
    await scheduleWake(services, now + 31_000);
    expect(queue.delays).toEqual([30]);
    // Sooner than the one coming: asked for; within a couple of seconds after one coming: not.
    await scheduleWake(services, now + 10_000);
    await scheduleWake(services, now + 11_000);
    expect(queue.delays).toEqual([30, 10]);
    await queue.stop();

    // A queue that refuses the message leaves no marker behind, so the next failure asks again.
    const refusing = { ...env, BILLING_QUEUE: { send: () => Promise.reject(new Error("queue unavailable")) } };
    await redis().del(WAKE_MARKER_KEY);
    await expect(scheduleWake(servicesFor(configFor(refusing), refusing), now + 20_000)).rejects.toThrow("queue unavailable");
    const after = delayedQueue(() => env);
    const working = { ...env, BILLING_QUEUE: after.binding };
    await scheduleWake(servicesFor(configFor(working), working), now + 20_000);
    expect(after.delays).toHaveLength(1);
    await after.stop();
    await redis().del(WAKE_MARKER_KEY);
  });

  it("delivers every record of a burst the receiver refused, signed, once it is back, with no request after", async () => {
    // Rows other suites left (no webhook is configured for them) go elsewhere first.
    const sink = receiver();
    while ((await deliverOutbox(db(), sink.target)).sent > 0) {
      // drained a share
    }
    await redis().del(WAKE_MARKER_KEY);
    const hook = receiver();
    const bindings: Record<string, unknown> = {
      ...env,
      USAGE_QUEUE: undefined,
      BILLING_WEBHOOK_URL: hook.url,
      BILLING_WEBHOOK_SECRET: SECRET,
      BILLING_RETRY_BASE: "1s",
    };
    const wakes = delayedQueue(() => bindings);
    bindings.BILLING_QUEUE = wakes.binding;
    try {
      await hook.failNext(1_000_000);
      const calls = await Promise.all(Array.from({ length: 30 }, () => callWorker(chatAs(TEST_ADMIN_KEY), bindings)));
      await Promise.all(calls.map((call) => call.settled()));
      expect(calls.map((call) => call.response.status)).toEqual(calls.map(() => 200));
      const ids = calls.map((call) => call.response.headers.get("x-request-id") ?? "");
      // The burst's failed deliveries asked for one wake-up, one backoff step away.
      expect(wakes.sentBeforeAnyRan()).toBe(1);
      expect(wakes.delays[0]).toBe(1);

      // Down a little longer: the wake-ups keep trying, each further away.
      await sleep(3500);
      const outage = await hook.received();
      expect(outage.length).toBeGreaterThanOrEqual(3);
      expect(outage.every((delivery) => delivery.status === 500)).toBe(true);
      expect(wakes.delays.length).toBeGreaterThanOrEqual(3);
      // Backing off: a later wake-up further away than the first.
      expect(Math.max(...wakes.delays)).toBeGreaterThanOrEqual(2);

      // Back up. From here on, nothing but the wake-ups.
      await hook.failNext(0);
      const back = Date.now();
      // No row can have been tried more often than the receiver was called; the wait is at most that step.
      const longestWait = retryDelaySeconds(outage.length, 1);
      let delivered: Received[] = [];
      while (Date.now() - back < (longestWait + 5) * 1000) {
        delivered = (await hook.received()).filter((delivery) => delivery.status === 200);
        if (ids.every((id) => recordsIn(delivered).includes(id))) break;
        await sleep(100);
      }
      const elapsed = Date.now() - back;
      console.log(
        `billing outage test: ${outage.length} refused deliveries, every record delivered ${elapsed} ms after recovery`,
      );
      expect(recordsIn(delivered)).toEqual(expect.arrayContaining(ids));
      expect(elapsed).toBeLessThanOrEqual((longestWait + 1) * 1000);
      for (const delivery of delivered) expect(await verify(delivery)).toBe(true);
      // A row is marked sent once its delivery has answered, a moment after the receiver saw it.
      const sentRows = async () => db().select().from(billingOutbox).where(inArray(billingOutbox.requestId, ids));
      let rows = await sentRows();
      for (let i = 0; i < 50 && !rows.every((row) => row.sentAt instanceof Date); i++) {
        await sleep(100);
        rows = await sentRows();
      }
      expect(rows).toHaveLength(ids.length);
      expect(rows.every((row) => row.sentAt instanceof Date && row.deadAt === null)).toBe(true);
      expect(wakes.acked.every(Boolean)).toBe(true);
    } finally {
      await wakes.stop();
      await redis().del(WAKE_MARKER_KEY);
    }
  });
});

describe("budget and quota alerts", () => {
  /** A ledger row for the key, as if it had spent `usd`. */
  const spend = (keyId: string, usd: number) =>
    db()
      .insert(usageEvents)
      .values({
        requestId: uniqueId("seed"),
        principalType: "key",
        principalId: keyId,
        keyId,
        provider: "mock",
        model: "mock-echo",
        clientFormat: "openai",
        costUsd: usd,
        latencyMs: 1,
        status: 200,
      });

  /** A key with a $1 budget, its ledger already at `spent` dollars. */
  async function keyAt(spent: number) {
    const created = await admin("POST", "/admin/keys", { max_budget: 1, name: uniqueId("alerted") });
    const keyId = String(created.body.id);
    await spend(keyId, spent);
    return { keyId, key: String(created.body.key) };
  }

  const recordFor = (keyId: string) => ({ keyId, userId: null, teamId: null }) as unknown as UsageRecord;

  const events = async (hook: ReturnType<typeof receiver>) =>
    (await hook.received()).map((d) => JSON.parse(d.body) as { type: string; data: { threshold: number; subject_id: string } });

  it("announces each threshold crossed once per period, signed", async () => {
    const hook = receiver();
    const { keyId } = await keyAt(0.55);
    expect(await checkThresholds(db(), hook.target, "UTC", [recordFor(keyId)])).toBe(1);
    expect(await checkThresholds(db(), hook.target, "UTC", [recordFor(keyId)])).toBe(0);
    await spend(keyId, 0.5);
    expect(await checkThresholds(db(), hook.target, "UTC", [recordFor(keyId)])).toBe(2);
    const sent = await events(hook);
    expect(sent.map((e) => [e.type, e.data.threshold, e.data.subject_id])).toEqual([
      ["budget.threshold", 50, keyId],
      ["budget.threshold", 80, keyId],
      ["budget.threshold", 100, keyId],
    ]);
    expect(sent[0]?.data).toMatchObject({ subject_type: "key", limit: "budget", unit: "usd", limit_value: 1, period: "life" });
    for (const delivery of await hook.received()) expect(await verify(delivery)).toBe(true);
  });

  it("shows each key's spend in its budget period in the admin key list", async () => {
    const { keyId } = await keyAt(0.42);
    const listed = await admin("GET", "/admin/keys?limit=1000");
    const row = (listed.body.data as { id: string; budget_spend: number | null; max_budget: number }[]).find(
      (k) => k.id === keyId,
    );
    expect(row).toMatchObject({ max_budget: 1 });
    expect(row?.budget_spend).toBeCloseTo(0.42, 9);
  });

  it("tries again later when the receiver did not take the event", async () => {
    const hook = receiver();
    const { keyId } = await keyAt(0.6);
    await hook.failNext(1);
    expect(await checkThresholds(db(), hook.target, "UTC", [recordFor(keyId)])).toBe(0);
    expect(await checkThresholds(db(), hook.target, "UTC", [recordFor(keyId)])).toBe(1);
    expect((await events(hook)).map((e) => e.data.threshold)).toEqual([50, 50]);
  });

  it("fires from a served request that crosses a threshold", async () => {
    const hook = receiver();
    const { keyId, key } = await keyAt(0.7999999);
    const bindings = { ALERTS_WEBHOOK_URL: hook.url, ALERTS_WEBHOOK_SECRET: SECRET };
    await servedWith(bindings, key);
    const sent = await events(hook);
    expect(sent.map((e) => e.data.threshold)).toEqual([50, 80]);
    expect(sent.every((e) => e.data.subject_id === keyId)).toBe(true);
    await servedWith(bindings, key);
    expect(await events(hook)).toHaveLength(2);
  });
});
