// The response cache: identical requests answered without an upstream call,
// streamed or not, in every format; never across callers; never a failure.
import { env } from "cloudflare:test";
import { Redis } from "@upstash/redis/cloudflare";
import { describe, expect, it } from "vitest";
import { BASE, type Call, callWorker, sseData, upstreamRequest, usageRow } from "./helpers.ts";
import { admin, appToken, errorOf, uniqueId } from "./identity.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let serial = 0;
/** Content no other test sends, so each test starts with an empty cache. */
const fresh = (label: string) => `${label} ${Date.now()}-${++serial}`;

async function newKey(fields: Record<string, unknown> = {}): Promise<{ id: string; key: string }> {
  const { status, body } = await admin("POST", "/admin/keys", { models: ["mock-*"], ...fields });
  expect(status).toBe(201);
  return { id: String(body.id), key: String(body.key) };
}

function post(path: string, key: string, body: unknown, headers: Record<string, string> = {}): Request {
  const auth: Record<string, string> = path.startsWith("/v1/messages")
    ? { "x-api-key": key, "anthropic-version": "2023-06-01" }
    : path.startsWith("/v1beta/")
      ? { "x-goog-api-key": key }
      : { authorization: `Bearer ${key}` };
  return new Request(`${BASE}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...auth, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

const requestIdOf = (call: Call) => call.response.headers.get("x-request-id") ?? "";

/** Whether the mock upstream received the gateway request. */
async function reachedUpstream(call: Call): Promise<boolean> {
  return upstreamRequest(requestIdOf(call)).then(
    () => true,
    () => false,
  );
}

/** The event names of an SSE body, in order. */
const eventNames = (text: string) => [...text.matchAll(/^event: (.+)$/gm)].map((m) => m[1]);

describe("the response cache", () => {
  it("answers a repeated chat completion from the cache: same body, no upstream call, a hit with its age, a free usage row", async () => {
    const { key } = await newKey();
    const content = fresh("cache me");
    const ask = { "x-sluice-cache": "ttl=600" };
    const miss = await callWorker(
      post("/v1/chat/completions", key, { model: "mock-echo", messages: [{ role: "user", content }] }, ask),
    );
    expect(miss.response.status).toBe(200);
    expect(miss.response.headers.get("x-sluice-cache")).toBe("miss");
    const missBody = await miss.response.text();
    await miss.settled();
    expect(await reachedUpstream(miss)).toBe(true);

    // The same request, its fields in another order and spaced differently.
    const same = `{ "messages": [ { "content": ${JSON.stringify(content)}, "role": "user" } ],\n  "model": "mock-echo" }`;
    const hit = await callWorker(post("/v1/chat/completions", key, same, ask));
    expect(hit.response.status).toBe(200);
    expect(hit.response.headers.get("x-sluice-cache")).toBe("hit");
    expect(Number(hit.response.headers.get("age"))).toBeGreaterThanOrEqual(0);
    expect(hit.response.headers.get("content-type")).toContain("application/json");
    expect(hit.response.headers.get("x-sluice-provider")).toBe("mock");
    expect(hit.response.headers.get("x-request-id")).not.toBe(requestIdOf(miss));
    expect(await hit.response.text()).toBe(missBody);
    await hit.settled();
    expect(await reachedUpstream(hit)).toBe(false);

    const missRow = await usageRow(requestIdOf(miss));
    const hitRow = await usageRow(requestIdOf(hit));
    expect(missRow).toMatchObject({ status: 200, attempts: 1 });
    expect(missRow?.promptTokens).toBeGreaterThan(0);
    expect(hitRow).toMatchObject({
      status: 200,
      attempts: 0,
      promptTokens: 0,
      completionTokens: 0,
      costUsd: 0,
      model: "mock-echo",
    });
    expect(hitRow?.metadata).toMatchObject({ cache_hit: true });

    const usage = await admin("GET", `/admin/usage?request_id=${requestIdOf(hit)}`);
    expect((usage.body.data as Record<string, unknown>[])[0]).toMatchObject({ cache_hit: true, cost_usd: 0 });
  });

  it("replays a streamed answer as a stream with the same events, in OpenAI's and Anthropic's formats", async () => {
    const { key } = await newKey();
    for (const [path, body] of [
      [
        "/v1/chat/completions",
        { model: "mock-lorem", stream: true, max_tokens: 12, messages: [{ role: "user", content: fresh("s") }] },
      ],
      ["/v1/messages", { model: "mock-echo", stream: true, max_tokens: 32, messages: [{ role: "user", content: fresh("a") }] }],
      ["/v1/responses", { model: "mock-echo", stream: true, input: fresh("r") }],
    ] as const) {
      const headers = { "x-sluice-cache": "ttl=600", "x-mock-chunks": "3" };
      const miss = await callWorker(post(path, key, body, headers));
      expect(miss.response.headers.get("x-sluice-cache")).toBe("miss");
      expect(miss.response.headers.get("content-type")).toContain("text/event-stream");
      const missText = await miss.response.text();
      await miss.settled();
      const hit = await callWorker(post(path, key, body, headers));
      expect(hit.response.headers.get("x-sluice-cache"), path).toBe("hit");
      expect(hit.response.headers.get("content-type")).toContain("text/event-stream");
      const hitText = await hit.response.text();
      expect(hitText).toBe(missText);
      if (path === "/v1/chat/completions") {
        const events = await sseData(new Response(hitText));
        expect(events.at(-1)).toBe("[DONE]");
        expect(events.length).toBeGreaterThan(3);
      } else {
        const names = eventNames(hitText);
        expect(names[0]).toBe(path === "/v1/messages" ? "message_start" : "response.created");
        expect(names.at(-1)).toBe(path === "/v1/messages" ? "message_stop" : "response.completed");
      }
      await hit.settled();
      expect(await reachedUpstream(hit)).toBe(false);
      expect((await usageRow(requestIdOf(hit)))?.metadata).toMatchObject({ cache_hit: true });
    }
  });

  it("caches Gemini's generateContent too", async () => {
    const { key } = await newKey();
    const body = { contents: [{ role: "user", parts: [{ text: fresh("g") }] }] };
    const path = "/v1beta/models/mock-echo:generateContent";
    const miss = await callWorker(post(path, key, body, { "x-sluice-cache": "ttl=600" }));
    expect(miss.response.status).toBe(200);
    const missText = await miss.response.text();
    await miss.settled();
    const hit = await callWorker(post(path, key, body, { "x-sluice-cache": "ttl=600" }));
    expect(hit.response.headers.get("x-sluice-cache")).toBe("hit");
    expect(await hit.response.text()).toBe(missText);
    await hit.settled();
  });

  it("never serves one caller's answer to another, unless their keys share the team's cache", async () => {
    const body = { model: "mock-echo", messages: [{ role: "user", content: fresh("mine") }] };
    const ask = { "x-sluice-cache": "ttl=600" };
    const [first, second] = [await newKey(), await newKey()];
    const a = await callWorker(post("/v1/chat/completions", first.key, body, ask));
    await a.response.text();
    await a.settled();
    const b = await callWorker(post("/v1/chat/completions", second.key, body, ask));
    expect(b.response.headers.get("x-sluice-cache")).toBe("miss");
    await b.response.text();
    await b.settled();
    expect(await reachedUpstream(b)).toBe(true);

    const team = `cache-team-${Date.now()}`;
    const [x, y] = [await newKey({ team_id: team, cache_scope: "team" }), await newKey({ team_id: team, cache_scope: "team" })];
    const teamBody = { ...body, messages: [{ role: "user", content: fresh("ours") }] };
    const fromX = await callWorker(post("/v1/chat/completions", x.key, teamBody, ask));
    await fromX.response.text();
    await fromX.settled();
    const fromY = await callWorker(post("/v1/chat/completions", y.key, teamBody, ask));
    expect(fromY.response.headers.get("x-sluice-cache")).toBe("hit");
    await fromY.settled();
  });

  it("lets an answer expire with its TTL", async () => {
    const { key } = await newKey();
    const body = { model: "mock-echo", messages: [{ role: "user", content: fresh("brief") }] };
    const first = await callWorker(post("/v1/chat/completions", key, body, { "x-sluice-cache": "ttl=1" }));
    await first.response.text();
    await first.settled();
    await sleep(1_100);
    const later = await callWorker(post("/v1/chat/completions", key, body, { "x-sluice-cache": "ttl=1" }));
    expect(later.response.headers.get("x-sluice-cache")).toBe("miss");
    await later.response.text();
    await later.settled();
  });

  it("follows a key's and a model's setting only for deterministic requests, and `no-store` skips it", async () => {
    const { id, key } = await newKey({ cache_ttl: 300 });
    const shown = await admin("GET", `/admin/keys/${id}`);
    expect(shown.body).toMatchObject({ cache_ttl: 300, cache_scope: "key" });
    const body = (extra: Record<string, unknown>) => ({
      model: "mock-echo",
      messages: [{ role: "user", content: fresh("set") }],
      ...extra,
    });

    const zero = body({ temperature: 0 });
    const a = await callWorker(post("/v1/chat/completions", key, zero));
    expect(a.response.headers.get("x-sluice-cache")).toBe("miss");
    await a.response.text();
    await a.settled();
    const b = await callWorker(post("/v1/chat/completions", key, zero));
    expect(b.response.headers.get("x-sluice-cache")).toBe("hit");
    await b.settled();
    // Asked not to: answered upstream, and said so.
    const skipped = await callWorker(post("/v1/chat/completions", key, zero, { "x-sluice-cache": "no-store" }));
    expect(skipped.response.headers.get("x-sluice-cache")).toBe("bypass");
    await skipped.settled();
    expect(await reachedUpstream(skipped)).toBe(true);

    // Sampling: the setting does not cache it; an explicit ttl does.
    const warm = body({ temperature: 0.7 });
    for (let i = 0; i < 2; i++) {
      const call = await callWorker(post("/v1/chat/completions", key, warm));
      expect(call.response.headers.get("x-sluice-cache")).toBe("bypass");
      await call.settled();
    }
    const asked = await callWorker(post("/v1/chat/completions", key, warm, { "x-sluice-cache": "ttl=60" }));
    expect(asked.response.headers.get("x-sluice-cache")).toBe("miss");
    await asked.response.text();
    await asked.settled();
    const again = await callWorker(post("/v1/chat/completions", key, warm, { "x-sluice-cache": "ttl=60" }));
    expect(again.response.headers.get("x-sluice-cache")).toBe("hit");
    await again.settled();

    // A catalog model with a TTL of its own, for a key without one.
    const provider = uniqueId("cache-provider");
    expect((await admin("POST", "/admin/providers", { id: provider, kind: "mock", base_url: env.MOCK_BASE_URL })).status).toBe(
      201,
    );
    const model = uniqueId("mock-cached");
    const created = await admin("POST", "/admin/models", { id: model, provider, upstream_id: "mock-echo", cache_ttl: 120 });
    expect(created).toMatchObject({ status: 201, body: { cache_ttl: 120 } });
    const plain = await newKey();
    const modelBody = { model, temperature: 0, messages: [{ role: "user", content: fresh("catalog") }] };
    const m1 = await callWorker(post("/v1/chat/completions", plain.key, modelBody));
    expect(m1.response.headers.get("x-sluice-cache")).toBe("miss");
    await m1.response.text();
    await m1.settled();
    const m2 = await callWorker(post("/v1/chat/completions", plain.key, modelBody));
    expect(m2.response.headers.get("x-sluice-cache")).toBe("hit");
    await m2.settled();
    // No temperature is the provider's default, which samples: a setting leaves it uncached.
    const { temperature: _t, ...sampled } = modelBody;
    const unset = await callWorker(post("/v1/chat/completions", plain.key, sampled));
    expect(unset.response.headers.get("x-sluice-cache")).toBe("bypass");
    await unset.settled();
  });

  it("never keeps a failed call, and refuses a malformed cache header", async () => {
    const { key } = await newKey();
    const body = { model: "mock-echo", messages: [{ role: "user", content: fresh("fail") }] };
    const failed = await callWorker(
      post("/v1/chat/completions", key, body, { "x-sluice-cache": "ttl=600", "x-mock-fail": "400" }),
    );
    expect(failed.response.status).toBe(400);
    await failed.settled();
    const next = await callWorker(post("/v1/chat/completions", key, body, { "x-sluice-cache": "ttl=600" }));
    expect(next.response.status).toBe(200);
    expect(next.response.headers.get("x-sluice-cache")).toBe("miss");
    await next.response.text();
    await next.settled();

    const cut = { model: "mock-lorem", stream: true, messages: [{ role: "user", content: fresh("cut") }] };
    const broken = await callWorker(
      post("/v1/chat/completions", key, cut, { "x-sluice-cache": "ttl=600", "x-mock-fail": "cut:2" }),
    );
    await broken.response.text();
    await broken.settled();
    const whole = await callWorker(post("/v1/chat/completions", key, cut, { "x-sluice-cache": "ttl=600" }));
    expect(whole.response.headers.get("x-sluice-cache")).toBe("miss");
    await whole.response.text();
    await whole.settled();

    const bad = await callWorker(post("/v1/chat/completions", key, body, { "x-sluice-cache": "forever" }));
    expect(await errorOf(bad.response)).toMatchObject({
      status: 400,
      code: "invalid_cache_header",
      message: "`x-sluice-cache` must be `ttl=<seconds>` or `no-store`.",
    });
  });

  it("never keeps an answer a content filter stopped, in any format", async () => {
    const { key } = await newKey();
    const ask = { "x-sluice-cache": "ttl=600" };
    for (const [path, body] of [
      ["/v1/chat/completions", { model: "mock-filtered", messages: [{ role: "user", content: fresh("f") }] }],
      [
        "/v1/messages",
        { model: "mock-filtered", stream: true, max_tokens: 16, messages: [{ role: "user", content: fresh("f") }] },
      ],
      ["/v1beta/models/mock-filtered:generateContent", { contents: [{ role: "user", parts: [{ text: fresh("f") }] }] }],
      ["/v1/responses", { model: "mock-filtered", input: fresh("f") }],
    ] as const) {
      for (let i = 0; i < 2; i++) {
        const call = await callWorker(post(path, key, body, ask));
        expect(call.response.status, path).toBe(200);
        expect(call.response.headers.get("x-sluice-cache"), path).toBe("miss");
        const text = await call.response.text();
        expect(text, path).toMatch(/content_filter|refusal|SAFETY/);
        await call.settled();
      }
    }
  });

  it("shares answers through Redis across locations when RESPONSE_CACHE_REDIS is on", async () => {
    const shared = { ...env, RESPONSE_CACHE_REDIS: "on" };
    const redis = new Redis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN });
    const { key } = await newKey();
    const body = { model: "mock-echo", messages: [{ role: "user", content: fresh("everywhere") }] };
    const ask = { "x-sluice-cache": "ttl=600" };
    const before = new Set(await redis.keys("sluice:rc:*"));
    const miss = await callWorker(post("/v1/chat/completions", key, body, ask), shared);
    const missText = await miss.response.text();
    await miss.settled();
    const stored = (await redis.keys("sluice:rc:*")).filter((k) => !before.has(k));
    expect(stored).toHaveLength(1);
    const hash = (stored[0] ?? "").slice("sluice:rc:".length);
    expect(await redis.ttl(stored[0] ?? "")).toBeGreaterThan(590);
    // Another location: this one's copy gone, Redis still has it.
    expect(await caches.default.delete(`https://response-cache.sluice.invalid/v1/${hash}`)).toBe(true);
    const hit = await callWorker(post("/v1/chat/completions", key, body, ask), shared);
    expect(hit.response.headers.get("x-sluice-cache")).toBe("hit");
    expect(await hit.response.text()).toBe(missText);
    await hit.settled();
    expect(await reachedUpstream(hit)).toBe(false);
    // …and the location keeps its own copy again.
    expect(await caches.default.match(`https://response-cache.sluice.invalid/v1/${hash}`)).toBeDefined();
  });

  it("bills a hit as the kept call when RESPONSE_CACHE_BILL_HITS is on", async () => {
    const billing = { ...env, RESPONSE_CACHE_BILL_HITS: "on" };
    const { key } = await newKey();
    const body = { model: "mock-echo", messages: [{ role: "user", content: fresh("bill the hit") }] };
    const ask = { "x-sluice-cache": "ttl=600" };
    const miss = await callWorker(post("/v1/chat/completions", key, body, ask), billing);
    await miss.response.text();
    await miss.settled();
    const hit = await callWorker(post("/v1/chat/completions", key, body, ask), billing);
    expect(hit.response.headers.get("x-sluice-cache")).toBe("hit");
    await hit.settled();
    const [missRow, hitRow] = [await usageRow(requestIdOf(miss)), await usageRow(requestIdOf(hit))];
    expect(hitRow).toMatchObject({
      promptTokens: missRow?.promptTokens,
      completionTokens: missRow?.completionTokens,
      attempts: 0,
      metadata: expect.objectContaining({ cache_hit: true }),
    });
  });

  it("counts a hit against the caller's requests per minute", async () => {
    const { key } = await newKey({ rpm_limit: 2 });
    const body = { model: "mock-echo", messages: [{ role: "user", content: fresh("rpm") }] };
    const ask = { "x-sluice-cache": "ttl=600" };
    const statuses: (string | number | null)[] = [];
    for (let i = 0; i < 3; i++) {
      const call = await callWorker(post("/v1/chat/completions", key, body, ask));
      statuses.push(call.response.status, call.response.headers.get("x-sluice-cache"));
      await call.response.text();
      await call.settled();
    }
    expect(statuses).toEqual([200, "miss", 200, "hit", 429, null]);
  });
});

describe("what the response cache keeps and serves", () => {
  const ask = { "x-sluice-cache": "ttl=600" };
  const chatBody = (label: string) => ({ model: "mock-echo", messages: [{ role: "user", content: fresh(label) }] });
  const twice = async (request: () => Request, bindings: object = env) => {
    const first = await callWorker(request(), bindings);
    const firstText = await first.response.text();
    await first.settled();
    const second = await callWorker(request(), bindings);
    return { first, firstText, second };
  };

  it("keeps a model's answer only when the model served it, never a fallback's", async () => {
    const primaryProvider = uniqueId("rc-p");
    const backupProvider = uniqueId("rc-b");
    for (const [id, kind] of [
      [primaryProvider, "mock"],
      [backupProvider, "anthropic"],
    ]) {
      expect((await admin("POST", "/admin/providers", { id, kind, base_url: env.MOCK_BASE_URL })).status).toBe(201);
    }
    const primary = uniqueId("rc-primary");
    const backup = uniqueId("rc-backup");
    expect(
      (await admin("POST", "/admin/models", { id: backup, provider: backupProvider, upstream_id: "mock-lorem" })).status,
    ).toBe(201);
    expect(
      (
        await admin("POST", "/admin/models", {
          id: primary,
          provider: primaryProvider,
          upstream_id: "mock-echo",
          fallbacks: [backup],
        })
      ).status,
    ).toBe(201);
    const { key } = await newKey({ models: null });
    const body = { model: primary, messages: [{ role: "user", content: fresh("fallback") }] };
    const failing = { ...ask, "x-mock-fail": "500" };
    const fellBack = await callWorker(post("/v1/chat/completions", key, body, failing), { ...env, UPSTREAM_RETRIES: "0" });
    expect(fellBack.response.headers.get("x-sluice-provider")).toBe(backupProvider);
    await fellBack.response.text();
    await fellBack.settled();
    const served = await callWorker(post("/v1/chat/completions", key, body, ask));
    expect(served.response.headers.get("x-sluice-cache")).toBe("miss");
    expect(served.response.headers.get("x-sluice-provider")).toBe(primaryProvider);
    await served.response.text();
    await served.settled();
  });

  it("keys on the headers that change the answer: another anthropic-beta is another answer", async () => {
    const { key } = await newKey();
    const body = { model: "mock-echo", max_tokens: 16, messages: [{ role: "user", content: fresh("beta") }] };
    const plain = await callWorker(post("/v1/messages", key, body, ask));
    await plain.response.text();
    await plain.settled();
    const beta = await callWorker(post("/v1/messages", key, body, { ...ask, "anthropic-beta": "some-feature-2025-01-01" }));
    expect(beta.response.headers.get("x-sluice-cache")).toBe("miss");
    await beta.response.text();
    await beta.settled();
    const again = await callWorker(post("/v1/messages", key, body, ask));
    expect(again.response.headers.get("x-sluice-cache")).toBe("hit");
    await again.settled();
  });

  it("serves no answer older than the request's own ttl", async () => {
    const { key } = await newKey();
    const body = chatBody("age");
    const stored = await callWorker(post("/v1/chat/completions", key, body, ask));
    await stored.response.text();
    await stored.settled();
    await sleep(1_100);
    const strict = await callWorker(post("/v1/chat/completions", key, body, { "x-sluice-cache": "ttl=1" }));
    expect(strict.response.headers.get("x-sluice-cache")).toBe("miss");
    await strict.response.text();
    await strict.settled();
    const relaxed = await callWorker(post("/v1/chat/completions", key, body, ask));
    expect(relaxed.response.headers.get("x-sluice-cache")).toBe("hit");
    await relaxed.settled();
  });

  it("shares a team's answers when the team says so, with every key of it that does not say otherwise", async () => {
    const team = uniqueId("rc-team");
    expect((await admin("POST", "/admin/teams", { id: team, cache_scope: "team" })).body).toMatchObject({ cache_scope: "team" });
    const one = await newKey({ team_id: team });
    const two = await newKey({ team_id: team });
    const own = await newKey({ team_id: team, cache_scope: "key" });
    const body = chatBody("team");
    const first = await callWorker(post("/v1/chat/completions", one.key, body, ask));
    await first.response.text();
    await first.settled();
    const shared = await callWorker(post("/v1/chat/completions", two.key, body, ask));
    expect(shared.response.headers.get("x-sluice-cache")).toBe("hit");
    await shared.settled();
    const apart = await callWorker(post("/v1/chat/completions", own.key, body, ask));
    expect(apart.response.headers.get("x-sluice-cache")).toBe("miss");
    await apart.response.text();
    await apart.settled();
  });

  it("holds a hit to the caller as an admin left them in another isolate: a narrowed allowlist refuses it", async () => {
    const { id, key } = await newKey({ models: ["mock-echo", "mock-lorem"] });
    const body = { model: "mock-lorem", messages: [{ role: "user", content: fresh("narrowed") }] };
    // The second instance serves and keeps the answer, and holds the key's copy in its cache.
    const kept = await env.SECOND_INSTANCE.fetch(post("/v1/chat/completions", key, body, ask));
    expect(kept.headers.get("x-sluice-cache")).toBe("miss");
    await kept.text();
    await sleep(100);
    const hit = await env.SECOND_INSTANCE.fetch(post("/v1/chat/completions", key, body, ask));
    expect(hit.headers.get("x-sluice-cache")).toBe("hit");
    await hit.text();
    // Narrowed here: the row and its change marker written; the second instance's copy is now stale.
    expect((await admin("PATCH", `/admin/keys/${id}`, { models: ["mock-echo"] })).status).toBe(200);
    const refused = await env.SECOND_INSTANCE.fetch(post("/v1/chat/completions", key, body, ask));
    expect(await errorOf(refused)).toMatchObject({ status: 403, code: "model_not_allowed" });
    expect(refused.headers.get("x-sluice-cache")).toBeNull();
  });

  it("serves a teammate no shared answer once the team's scope is narrowed to each key", async () => {
    const team = uniqueId("rc-scoped");
    expect((await admin("POST", "/admin/teams", { id: team, cache_scope: "team" })).status).toBe(201);
    const one = await newKey({ team_id: team });
    const two = await newKey({ team_id: team });
    const body = chatBody("scope");
    const first = await env.SECOND_INSTANCE.fetch(post("/v1/chat/completions", one.key, body, ask));
    await first.text();
    await sleep(100);
    const shared = await env.SECOND_INSTANCE.fetch(post("/v1/chat/completions", two.key, body, ask));
    expect(shared.headers.get("x-sluice-cache")).toBe("hit");
    await shared.text();
    expect((await admin("PATCH", `/admin/teams/${team}`, { cache_scope: "key" })).status).toBe(200);
    const apart = await env.SECOND_INSTANCE.fetch(post("/v1/chat/completions", two.key, body, ask));
    expect(apart.status).toBe(200);
    expect(apart.headers.get("x-sluice-cache")).toBe("miss");
    await apart.text();
  });

  it("keys on the output cap the gateway holds the upstream to: a capped answer is not an uncapped caller's", async () => {
    const team = uniqueId("rc-capped");
    expect((await admin("POST", "/admin/teams", { id: team, cache_scope: "team" })).status).toBe(201);
    // Limited in tokens: the gateway sends the reserved cap upstream, since the client set none.
    const capped = await newKey({ team_id: team, tpm_limit: 100_000 });
    const free = await newKey({ team_id: team });
    const body = chatBody("cap");
    const first = await callWorker(post("/v1/chat/completions", capped.key, body, ask));
    await first.response.text();
    await first.settled();
    expect((await upstreamRequest(requestIdOf(first))).body.max_tokens).toBe(4096);
    const other = await callWorker(post("/v1/chat/completions", free.key, body, ask));
    expect(other.response.headers.get("x-sluice-cache")).toBe("miss");
    await other.response.text();
    await other.settled();
    expect((await upstreamRequest(requestIdOf(other))).body).not.toHaveProperty("max_tokens");
    // A teammate held to the same cap shares the capped answer.
    const alike = await newKey({ team_id: team, tpm_limit: 100_000 });
    const again = await callWorker(post("/v1/chat/completions", alike.key, body, ask));
    expect(again.response.headers.get("x-sluice-cache")).toBe("hit");
    await again.response.text();
    await again.settled();
  });

  it("lets no user widen whose answers a key of theirs sees", async () => {
    const token = await appToken({ sub: uniqueId("rc-minter") });
    const { response } = await callWorker(
      new Request(`${BASE}/api/keys`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "widen", cache_scope: "team" }),
      }),
    );
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain("cache_scope");
  });

  it("serves a hit to a caller whose budget is spent, and leaves its counters as they were", async () => {
    const { id, key } = await newKey({ max_budget: 1 });
    const body = chatBody("spent");
    const stored = await callWorker(post("/v1/chat/completions", key, body, ask));
    await stored.response.text();
    await stored.settled();
    const redis = new Redis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN });
    const counter = `sluice:c:key:${id}:usd:b:life`;
    await redis.set(counter, 2_000_000_000);
    const refused = await callWorker(post("/v1/chat/completions", key, chatBody("not cached"), ask));
    expect(await errorOf(refused.response)).toMatchObject({ status: 429, code: "budget_exceeded" });
    await refused.settled();
    const hit = await callWorker(post("/v1/chat/completions", key, body, ask));
    expect(hit.response.status).toBe(200);
    expect(hit.response.headers.get("x-sluice-cache")).toBe("hit");
    await hit.settled();
    expect(Number(await redis.get(counter))).toBe(2_000_000_000);
    const row = await usageRow(requestIdOf(hit));
    expect(row).toMatchObject({ promptTokens: 0, completionTokens: 0, costUsd: 0 });
    expect(row?.metadata).toMatchObject({ cache_hit: true });
    expect(row?.metadata).not.toHaveProperty("usage_estimated");
  });

  it("keeps no answer larger than RESPONSE_CACHE_MAX_BYTES", async () => {
    const { key } = await newKey();
    const small = { ...env, RESPONSE_CACHE_MAX_BYTES: "64" };
    const { second } = await twice(() => post("/v1/chat/completions", key, chatBody("too big to keep"), ask), small);
    expect(second.response.headers.get("x-sluice-cache")).toBe("miss");
    await second.response.text();
    await second.settled();
  });

  it("replays a stream with its age, and its hit's row says nothing was estimated", async () => {
    const { key } = await newKey();
    const body = { ...chatBody("stream row"), stream: true };
    const { firstText, second } = await twice(() => post("/v1/chat/completions", key, body, ask));
    expect(second.response.headers.get("x-sluice-cache")).toBe("hit");
    expect(second.response.headers.get("age")).toMatch(/^\d+$/);
    expect(second.response.headers.get("content-type")).toContain("text/event-stream");
    expect(await second.response.text()).toBe(firstText);
    await second.settled();
    const row = await usageRow(requestIdOf(second));
    expect(row).toMatchObject({ streamed: true, promptTokens: 0, completionTokens: 0 });
    expect(row?.metadata).not.toHaveProperty("usage_estimated");
  });
});
