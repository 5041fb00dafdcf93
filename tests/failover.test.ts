// Routing through failures: a catalog model whose provider fails (as the mock
// upstream is told to) falls over to its fallback on another provider, in
// another wire format; retries wait out Retry-After; failing targets cool
// down for every isolate; and catalog changes arrive without a redeploy.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { BASE, callWorker, chat, jsonRequest, sseData, TEST_ADMIN_KEY, usageRow } from "./helpers.ts";
import { admin, uniqueId } from "./identity.ts";

const mockRoot = () => String(env.MOCK_BASE_URL).replace(/\/v1$/, "");

/** Every attempt the mock upstream saw for one gateway request. */
async function upstreamAttempts(requestId: string): Promise<{ path: string; headers: Record<string, string> }[]> {
  return (await fetch(`${mockRoot()}/__mock/requests/${requestId}/attempts`)).json();
}

/** A catalog model's prices, in USD per million input and output tokens. */
interface Prices {
  input_usd_per_mtok: number;
  output_usd_per_mtok: number;
}

/**
 * A chain of two catalog models: `primary` on a mock-kind provider (which
 * passes the `x-mock-*` failure headers on) and `backup` on an Anthropic-kind
 * provider at the same mock server (which does not, so it always answers).
 * The primary costs $1/$2 per million tokens; the backup is unpriced unless given prices.
 */
async function chain(name: string, options: { fallbacks?: boolean; backupPrices?: Prices } = {}) {
  const fallbacks = options.fallbacks ?? true;
  const primaryProvider = uniqueId(`${name}-p`);
  const backupProvider = uniqueId(`${name}-b`);
  const primary = uniqueId(`${name}-primary`);
  const backup = uniqueId(`${name}-backup`);
  for (const [id, kind] of [
    [primaryProvider, "mock"],
    [backupProvider, "anthropic"],
  ]) {
    expect((await admin("POST", "/admin/providers", { id, kind, base_url: env.MOCK_BASE_URL })).status).toBe(201);
  }
  const created = await admin("POST", "/admin/models", {
    id: primary,
    provider: primaryProvider,
    upstream_id: "mock-echo",
    input_usd_per_mtok: 1,
    output_usd_per_mtok: 2,
    fallbacks: fallbacks ? [backup] : [],
  });
  expect(created.status).toBe(201);
  const backupCreated = await admin("POST", "/admin/models", {
    id: backup,
    provider: backupProvider,
    upstream_id: "mock-echo",
    ...options.backupPrices,
  });
  expect(backupCreated.status).toBe(201);
  return { primary, backup, primaryProvider, backupProvider };
}

/** Settings under test: no retries on one target unless a test asks, and no cooldown to get in the way. */
const settings = (extra: Record<string, string> = {}) => ({
  ...env,
  UPSTREAM_RETRIES: "0",
  COOLDOWN_FAILURES: "1000",
  UPSTREAM_FIRST_BYTE_TIMEOUT: "400ms",
  ...extra,
});

describe("failover to the next target", () => {
  let route: Awaited<ReturnType<typeof chain>>;
  const bindings = settings();
  beforeAll(async () => {
    route = await chain("fo");
  });

  const failures: [string, Record<string, string>, string][] = [
    ["a 500", { "x-mock-fail": "500" }, "500"],
    ["a 503", { "x-mock-fail": "503" }, "503"],
    ["a 429", { "x-mock-fail": "429" }, "429"],
    ["a dropped connection", { "x-mock-fail": "drop" }, "connection"],
    ["a first byte later than the timeout", { "x-mock-latency-ms": "1500" }, "timeout"],
  ];

  for (const [name, headers, outcome] of failures) {
    it(`moves on after ${name}, before the client sees anything`, async () => {
      const { response, settled } = await callWorker(
        jsonRequest("/v1/chat/completions", chat("still answered", { model: route.primary }), headers),
        bindings,
      );
      expect(response.status).toBe(200);
      expect(response.headers.get("x-sluice-provider")).toBe(route.backupProvider);
      expect(response.headers.get("x-sluice-model")).toBe("mock-echo");
      expect(response.headers.get("x-sluice-attempts")).toBe("2");
      const body = (await response.json()) as { model: string; choices: { message: { content: string } }[] };
      expect(body.choices[0]?.message.content).toBe("still answered");
      expect(body.model).toBe(route.primary);
      await settled();

      const requestId = response.headers.get("x-request-id") ?? "";
      const attempts = await upstreamAttempts(requestId);
      // The second attempt went out in Anthropic's format, to the backup.
      expect(attempts.map((a) => a.path)).toEqual(["/v1/chat/completions", "/v1/messages"]);
      const row = await usageRow(requestId);
      expect(row).toMatchObject({ status: 200, provider: route.backupProvider, model: route.primary, attempts: 2 });
      expect(row?.metadata.route).toMatchObject([
        { provider: route.primaryProvider, model: "mock-echo", credential: `env:${route.primaryProvider}`, outcome },
        { provider: route.backupProvider, model: "mock-echo", outcome: "ok" },
      ]);
    });
  }

  it("moves on for a stream too, and the client gets one clean stream from the backup", async () => {
    const { response, settled } = await callWorker(
      jsonRequest("/v1/chat/completions", chat("streamed over", { model: route.primary, stream: true }), {
        "x-mock-fail": "503",
      }),
      bindings,
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    expect(response.headers.get("x-sluice-provider")).toBe(route.backupProvider);
    const events = await sseData(response);
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as { choices: { delta: { content?: string } }[] });
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("streamed over");
    await settled();
    const row = await usageRow(response.headers.get("x-request-id") ?? "");
    expect(row).toMatchObject({ status: 200, streamed: true, attempts: 2, provider: route.backupProvider });
    expect(row?.promptTokens).toBeGreaterThan(0);
  });

  it("does not move on after a failure outside FAILOVER_ON: a 400 is the caller's answer", async () => {
    const { response, settled } = await callWorker(
      jsonRequest("/v1/chat/completions", chat("bad", { model: route.primary }), { "x-mock-fail": "400" }),
      bindings,
    );
    expect(response.status).toBe(400);
    expect(response.headers.get("x-sluice-attempts")).toBe("1");
    await settled();
    const requestId = response.headers.get("x-request-id") ?? "";
    expect(await upstreamAttempts(requestId)).toHaveLength(1);
    expect(await usageRow(requestId)).toMatchObject({ status: 400, attempts: 1, provider: route.primaryProvider });
  });

  it("takes FAILOVER_ON from the config: without 429 in it, a 429 is returned as it came", async () => {
    const { response } = await callWorker(
      jsonRequest("/v1/chat/completions", chat("no", { model: route.primary }), { "x-mock-fail": "429" }),
      settings({ FAILOVER_ON: "connection,timeout,5xx" }),
    );
    expect(response.status).toBe(429);
    expect(response.headers.get("x-sluice-provider")).toBe(route.primaryProvider);
  });

  it("never retries once the first byte is out: the stream ends with an error event", async () => {
    const { response, settled } = await callWorker(
      jsonRequest("/v1/chat/completions", chat("a b c d e f g", { model: route.primary, stream: true }), {
        "x-mock-fail": "cut:2",
        "x-mock-interval-ms": "20",
      }),
      bindings,
    );
    expect(response.status).toBe(200);
    const events = await sseData(response);
    expect(events).not.toContain("[DONE]");
    expect(JSON.parse(events.at(-1) ?? "{}")).toMatchObject({ error: { message: expect.stringMatching(/upstream stream/i) } });
    await settled();
    const requestId = response.headers.get("x-request-id") ?? "";
    expect(await upstreamAttempts(requestId)).toHaveLength(1);
    expect(await usageRow(requestId)).toMatchObject({ status: 502, attempts: 1, provider: route.primaryProvider });
  });

  it("ends a stream that goes quiet for longer than the idle timeout with an error event", async () => {
    const { response, settled } = await callWorker(
      jsonRequest("/v1/chat/completions", chat("a b c d", { model: route.primary, stream: true }), {
        "x-mock-interval-ms": "800",
      }),
      settings({ UPSTREAM_STREAM_IDLE_TIMEOUT: "250ms" }),
    );
    expect(response.status).toBe(200);
    const events = await sseData(response);
    expect(JSON.parse(events.at(-1) ?? "{}")).toMatchObject({
      error: { message: expect.stringContaining("sent nothing for 250 ms") },
    });
    await settled();
    expect(await usageRow(response.headers.get("x-request-id") ?? "")).toMatchObject({ status: 502, attempts: 1 });
  });
});

describe("a fallback is one the caller may use, and is priced as itself", () => {
  const BACKUP_PRICES = { input_usd_per_mtok: 1000, output_usd_per_mtok: 3000 };
  let route: Awaited<ReturnType<typeof chain>>;
  const bindings = settings();
  beforeAll(async () => {
    route = await chain("fa", { backupPrices: BACKUP_PRICES });
  });

  /** The primary fails with a 503, as the caller with this credential. */
  const failingPrimary = (credential: string, content: string) =>
    callWorker(
      jsonRequest("/v1/chat/completions", chat(content, { model: route.primary }), {
        authorization: `Bearer ${credential}`,
        "x-mock-fail": "503",
      }),
      bindings,
    );

  it("does not try a fallback the key's allowlist leaves out: the answer is the primary's failure", async () => {
    const both = await admin("POST", "/admin/keys", { name: uniqueId("fa-both"), models: [route.primary, route.backup] });
    const onlyPrimary = await admin("POST", "/admin/keys", { name: uniqueId("fa-primary"), models: [route.primary] });
    // Allowed both, the same failure falls over: what changes below is the allowlist alone.
    const allowed = await failingPrimary(String(both.body.key), "both allowed");
    expect(allowed.response.status).toBe(200);
    expect(allowed.response.headers.get("x-sluice-provider")).toBe(route.backupProvider);
    await allowed.settled();

    const { response, settled } = await failingPrimary(String(onlyPrimary.body.key), "primary only");
    expect(response.status).toBe(503);
    expect(response.headers.get("x-sluice-attempts")).toBe("1");
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain("mock upstream failure");
    await settled();
    const requestId = response.headers.get("x-request-id") ?? "";
    // The mock saw the primary's attempt and nothing for the backup, which speaks Anthropic's format.
    expect((await upstreamAttempts(requestId)).map((a) => a.path)).toEqual(["/v1/chat/completions"]);
    const row = await usageRow(requestId);
    expect(row).toMatchObject({ status: 503, attempts: 1, provider: route.primaryProvider, keyId: onlyPrimary.body.id });
    expect(row?.metadata.route).toHaveLength(1);
  });

  it("holds a fallback to the allowlist an admin set since another isolate loaded the key", async () => {
    const made = await admin("POST", "/admin/keys", { name: uniqueId("fa-changed"), models: [route.primary, route.backup] });
    const viaOther = () =>
      env.SECOND_INSTANCE.fetch(
        jsonRequest("/v1/chat/completions", chat("on the other isolate", { model: route.primary }), {
          authorization: `Bearer ${String(made.body.key)}`,
          "x-mock-fail": "503",
        }),
      );
    const before = await viaOther();
    expect(before.status).toBe(200);
    expect(before.headers.get("x-sluice-provider")).toBe(route.backupProvider);
    await before.text();
    // Changed through this instance; the other holds the key with the backup still in its allowlist.
    expect((await admin("PATCH", `/admin/keys/${String(made.body.id)}`, { models: [route.primary] })).status).toBe(200);
    // Past any lease the first call left the other isolate, so the next call's limits check reads the change marker.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const after = await viaOther();
    expect(after.status).toBe(503);
    expect(((await after.json()) as { error: { message: string } }).error.message).toContain("mock upstream failure");
    expect(after.headers.get("x-sluice-provider")).toBe(route.primaryProvider);
  });

  it("records a fallback's answer at the fallback's price, not the primary's", async () => {
    const { response, settled } = await callWorker(
      jsonRequest("/v1/chat/completions", chat("priced as the backup that served it", { model: route.primary }), {
        "x-mock-fail": "503",
      }),
      bindings,
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("x-sluice-provider")).toBe(route.backupProvider);
    await settled();
    const row = await usageRow(response.headers.get("x-request-id") ?? "");
    expect(row).toMatchObject({ status: 200, attempts: 2, provider: route.backupProvider, model: route.primary });
    const prompt = row?.promptTokens ?? 0;
    const completion = row?.completionTokens ?? 0;
    expect(prompt).toBeGreaterThan(0);
    expect(completion).toBeGreaterThan(0);
    const atBackup = (prompt * BACKUP_PRICES.input_usd_per_mtok + completion * BACKUP_PRICES.output_usd_per_mtok) / 1e6;
    const atPrimary = (prompt * 1 + completion * 2) / 1e6;
    expect(row?.costUsd).toBeCloseTo(atBackup, 9);
    expect(row?.costUsd).not.toBeCloseTo(atPrimary, 6);
  });
});

describe("retries on one target", () => {
  let route: Awaited<ReturnType<typeof chain>>;
  beforeAll(async () => {
    route = await chain("rt");
  });

  it("waits out the upstream's Retry-After, then retries the same target", async () => {
    const began = Date.now();
    const { response, settled } = await callWorker(
      jsonRequest("/v1/chat/completions", chat("after a second", { model: route.primary }), {
        "x-mock-fail": "429",
        "x-mock-retry-after": "1",
        "x-mock-fail-times": "1",
        "x-mock-fail-key": uniqueId("retry-after"),
      }),
      settings({ UPSTREAM_RETRIES: "1" }),
    );
    expect(response.status).toBe(200);
    expect(Date.now() - began).toBeGreaterThanOrEqual(1000);
    expect(response.headers.get("x-sluice-provider")).toBe(route.primaryProvider);
    expect(response.headers.get("x-sluice-attempts")).toBe("2");
    // The retry sent the client's bytes again, whole: the mock echoes the prompt it read.
    const answer = (await response.json()) as { choices: { message: { content: string } }[] };
    expect(answer.choices[0]?.message.content).toBe("after a second");
    await settled();
    const row = await usageRow(response.headers.get("x-request-id") ?? "");
    expect(row?.metadata.route).toMatchObject([
      { provider: route.primaryProvider, outcome: "429" },
      { provider: route.primaryProvider, outcome: "ok" },
    ]);
  });

  it("moves to the next target at once when Retry-After is longer than RETRY_AFTER_MAX", async () => {
    const began = Date.now();
    const { response } = await callWorker(
      jsonRequest("/v1/chat/completions", chat("not waiting", { model: route.primary }), {
        "x-mock-fail": "429",
        "x-mock-retry-after": "30",
      }),
      settings({ UPSTREAM_RETRIES: "2", RETRY_AFTER_MAX: "2s" }),
    );
    expect(response.status).toBe(200);
    expect(Date.now() - began).toBeLessThan(2000);
    expect(response.headers.get("x-sluice-provider")).toBe(route.backupProvider);
    expect(response.headers.get("x-sluice-attempts")).toBe("2");
  });

  it("backs off between retries and answers with the last failure when every attempt fails", async () => {
    const { response, settled } = await callWorker(
      jsonRequest("/v1/chat/completions", chat("x", { model: `${route.primaryProvider}/mock-echo` }), {
        "x-mock-fail": "503",
      }),
      settings({ UPSTREAM_RETRIES: "2", RETRY_BACKOFF: "10ms" }),
    );
    expect(response.status).toBe(503);
    expect(response.headers.get("x-sluice-attempts")).toBe("3");
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain("mock upstream failure");
    await settled();
    expect(await usageRow(response.headers.get("x-request-id") ?? "")).toMatchObject({ status: 503, attempts: 3 });
  });
});

describe("cooldown", () => {
  it("skips a target that keeps failing, tells other isolates, and tries it again once the cooldown is over", async () => {
    const route = await chain("cd");
    const bindings = settings({ COOLDOWN_FAILURES: "2", COOLDOWN: "3s" });
    const ask = async (headers: Record<string, string> = { "x-mock-fail": "503" }) => {
      const { response, settled } = await callWorker(
        jsonRequest("/v1/chat/completions", chat("cool", { model: route.primary }), headers),
        bindings,
      );
      await settled();
      expect(response.status).toBe(200);
      return response;
    };
    // Two failures in a row: both fall over, and the target enters its cooldown.
    for (let i = 0; i < 2; i++) expect((await ask()).headers.get("x-sluice-attempts")).toBe("2");
    const cooled = await ask({});
    expect(cooled.headers.get("x-sluice-provider")).toBe(route.backupProvider);
    expect(cooled.headers.get("x-sluice-attempts")).toBe("1");
    const row = await usageRow(cooled.headers.get("x-request-id") ?? "");
    expect(row?.metadata.route).toMatchObject([
      { provider: route.primaryProvider, outcome: "cooldown" },
      { provider: route.backupProvider, outcome: "ok" },
    ]);

    // Another instance (its own isolate, its own memory) learns it from Redis in the background.
    let seen: string | null = null;
    for (let i = 0; i < 20 && seen !== route.backupProvider; i++) {
      const response = await env.SECOND_INSTANCE.fetch(
        new Request(`${BASE}/v1/chat/completions`, {
          method: "POST",
          headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, "content-type": "application/json" },
          body: JSON.stringify(chat("elsewhere", { model: route.primary })),
        }),
      );
      await response.arrayBuffer();
      seen = response.headers.get("x-sluice-provider");
      if (seen !== route.backupProvider) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(seen).toBe(route.backupProvider);

    // After the cooldown the primary is tried again, and answers.
    await new Promise((resolve) => setTimeout(resolve, 3100));
    const recovered = await ask({});
    expect(recovered.headers.get("x-sluice-provider")).toBe(route.primaryProvider);
    expect(recovered.headers.get("x-sluice-attempts")).toBe("1");
  }, 30_000);
});

describe("the model catalog", () => {
  it("serves a model added through the admin API, and a change to it, without a redeploy", async () => {
    const provider = uniqueId("cat-p");
    const model = uniqueId("cat-model");
    await admin("POST", "/admin/providers", { id: provider, kind: "mock", base_url: env.MOCK_BASE_URL });
    const request = () =>
      new Request(`${BASE}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, "content-type": "application/json" },
        body: JSON.stringify(chat("catalog", { model })),
      });
    // Unknown everywhere before it is added.
    expect((await env.SECOND_INSTANCE.fetch(request())).status).toBe(404);

    const created = await admin("POST", "/admin/models", {
      id: model,
      provider,
      upstream_id: "mock-echo",
      input_usd_per_mtok: 1000,
      output_usd_per_mtok: 2000,
    });
    expect(created).toMatchObject({ status: 201, body: { id: model, provider, upstream_id: "mock-echo", fallbacks: [] } });
    // This instance dropped its copy at once.
    const here = await callWorker(request());
    expect(here.response.status).toBe(200);
    await here.settled();
    // Priced as the catalog says: 1 prompt token at $1000/M and 1 completion token at $2000/M.
    expect((await usageRow(here.response.headers.get("x-request-id") ?? ""))?.costUsd).toBeCloseTo(0.003, 9);

    const until = async (check: (response: Response) => boolean) => {
      for (let i = 0; i < 30; i++) {
        const response = await env.SECOND_INSTANCE.fetch(request());
        await response.arrayBuffer();
        if (check(response)) return response;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      throw new Error("the other instance never saw the catalog change");
    };
    // The other instance re-reads the catalog in the background and picks the model up within seconds.
    await until((r) => r.status === 200 && r.headers.get("x-sluice-model") === "mock-echo");

    expect((await admin("PATCH", `/admin/models/${model}`, { upstream_id: "mock-lorem" })).body).toMatchObject({
      upstream_id: "mock-lorem",
    });
    await until((r) => r.headers.get("x-sluice-model") === "mock-lorem");

    expect((await admin("DELETE", `/admin/models/${model}`)).status).toBe(200);
    await until((r) => r.status === 404);
  }, 30_000);

  it("lists, validates and refuses what it cannot serve", async () => {
    const listed = await admin("GET", "/admin/models");
    expect(listed.body.data).toContainEqual(
      expect.objectContaining({ id: "claude-sonnet-4-5", provider: "anthropic", input_usd_per_mtok: 3, output_usd_per_mtok: 15 }),
    );
    expect((await admin("POST", "/admin/models", { id: uniqueId("m"), provider: "no-such-provider" })).status).toBe(400);
    expect((await admin("POST", "/admin/providers", { id: uniqueId("p"), kind: "carrier-pigeon" })).status).toBe(400);
    expect((await admin("GET", "/admin/models/no-such-model")).status).toBe(404);
  });
});
