// Holes in accounting, each shown closed: models without a price under a
// dollar limit, upstreams not held to what was reserved, media counted as
// nothing, usage taken from estimates where the provider said better, work
// a timed-out attempt cost, and credentials in upstreams' stream errors.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { billingOutbox, virtualKeys } from "../src/db/schema.ts";
import { BASE, callWorker, db, mockProviderBindings, sseData, TEST_ADMIN_KEY, upstreamRequest, usageRow } from "./helpers.ts";
import { admin, appToken, chatAs, errorOf, uniqueId } from "./identity.ts";

const newKey = async (settings: Record<string, unknown>) => {
  const { body } = await admin("POST", "/admin/keys", settings);
  return { id: String(body.id), key: String(body.key) };
};

const post = (path: string, credential: string, body: unknown, headers: Record<string, string> = {}) =>
  new Request(`${BASE}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${credential}`, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

describe("a model without a price", () => {
  // `openai/mock-echo`: OpenAI's list has no `mock-echo`, so served by the OpenAI provider it has no price.
  const unpriced = { model: "openai/mock-echo" };

  it("is refused to a caller with a budget, naming the model, unless the catalog prices it", async () => {
    const { key } = await newKey({ max_budget: 1 });
    const refused = await callWorker(chatAs(key, unpriced), mockProviderBindings);
    expect(await errorOf(refused.response)).toMatchObject({
      status: 403,
      code: "model_unpriced",
      message: expect.stringContaining("The model `openai/mock-echo` has no price on `openai`"),
    });

    const user = uniqueId("usd-quota");
    expect((await admin("POST", "/admin/users", { id: user, usd_per_day: 5 })).status).toBe(201);
    const quotaKey = (await newKey({ user_id: user })).key;
    expect((await callWorker(chatAs(quotaKey, unpriced), mockProviderBindings)).response.status).toBe(403);

    const model = uniqueId("house-model");
    const priced = await admin("POST", "/admin/models", {
      id: model,
      provider: "openai",
      upstream_id: "mock-echo",
      input_usd_per_mtok: 10,
      output_usd_per_mtok: 20,
    });
    expect(priced.status).toBe(201);
    // Under these settings the isolate holds a catalog of its own, re-read in the background every 500 ms.
    let served = await callWorker(chatAs(key, { model }), mockProviderBindings);
    for (let tries = 0; served.response.status === 404 && tries < 30; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      served = await callWorker(chatAs(key, { model }), mockProviderBindings);
    }
    expect(served.response.status).toBe(200);
    await served.landed();
    const row = await usageRow(served.response.headers.get("x-request-id") ?? "");
    // "who am I": 3 tokens each way, at $10 and $20 per million.
    expect(row?.costUsd).toBeCloseTo((3 * 10 + 3 * 20) / 1e6, 12);
  });

  it("is served to a caller limited in tokens alone, its row marked unpriced at no cost", async () => {
    const { key } = await newKey({ tpm_limit: 100_000 });
    const served = await callWorker(chatAs(key, unpriced), mockProviderBindings);
    expect(served.response.status).toBe(200);
    await served.landed();
    const row = await usageRow(served.response.headers.get("x-request-id") ?? "");
    expect(row).toMatchObject({ provider: "openai", promptTokens: 3, completionTokens: 3, costUsd: 0 });
    expect(row?.metadata).toMatchObject({ unpriced: true });
  });
});

describe("the upstream is held to what was reserved", () => {
  const sent = async (response: Response) => (await upstreamRequest(response.headers.get("x-request-id") ?? "")).body;

  it("gets the reserved output cap, in each API's own field, when the caller's limits count tokens and it set none", async () => {
    const { key } = await newKey({ tpm_limit: 1_000_000 });
    const ask = async (request: Request) => {
      const { response } = await callWorker(request, mockProviderBindings);
      expect(response.status).toBe(200);
      return sent(response);
    };
    const chatBody = { messages: [{ role: "user", content: "hi" }] };
    // OpenAI's own API takes max_completion_tokens; other OpenAI-style servers max_tokens.
    expect(await ask(post("/v1/chat/completions", key, { ...chatBody, model: "openai/mock-echo" }))).toMatchObject({
      max_completion_tokens: 4096,
    });
    expect(await ask(post("/v1/chat/completions", key, { ...chatBody, model: "mock-echo" }))).toMatchObject({
      max_tokens: 4096,
    });
    const contents = [{ role: "user", parts: [{ text: "hi" }] }];
    expect(await ask(post("/v1beta/models/mock-echo:generateContent", key, { contents, provider: "gemini" }))).toMatchObject({
      generationConfig: { maxOutputTokens: 4096 },
    });
    expect(await ask(post("/v1/responses", key, { model: "openai/mock-echo", input: "hi" }))).toMatchObject({
      max_output_tokens: 4096,
    });
    // Legacy completions stop at 16 tokens by default: that is what is reserved, and sent.
    expect(await ask(post("/v1/completions", key, { model: "mock-echo", prompt: "hi" }))).toMatchObject({ max_tokens: 16 });
    // Translated into another provider's format, the cap goes in that format's field.
    expect(await ask(post("/v1/chat/completions", key, { ...chatBody, model: "gemini/mock-echo" }))).toMatchObject({
      generationConfig: { maxOutputTokens: 4096 },
    });
    // The client's own cap is left as it sent it.
    expect(await ask(post("/v1/chat/completions", key, { ...chatBody, model: "mock-echo", max_tokens: 7 }))).toEqual(
      expect.not.objectContaining({ max_completion_tokens: expect.anything() }),
    );
  });

  it("leaves a caller no token or dollar limit binds as it was", async () => {
    const { key } = await newKey({ rpm_limit: 100 });
    const { response } = await callWorker(
      post("/v1/chat/completions", key, { model: "mock-echo", messages: [{ role: "user", content: "hi" }] }),
    );
    expect(response.status).toBe(200);
    const body = await sent(response);
    expect(body.max_tokens).toBeUndefined();
    expect(body.max_completion_tokens).toBeUndefined();
  });

  it("reserves every answer asked for: n and candidateCount multiply the output", async () => {
    const reservation = async (request: (key: string) => Request) => {
      const { key } = await newKey({ tpm_limit: 1_000_000 });
      const { response } = await callWorker(request(key));
      expect(response.status).toBe(200);
      return 1_000_000 - Number(response.headers.get("x-ratelimit-remaining-tokens"));
    };
    const chat = (n: number) => (key: string) =>
      post("/v1/chat/completions", key, { model: "mock-echo", max_tokens: 100, n, messages: [{ role: "user", content: "x" }] });
    expect((await reservation(chat(3))) - (await reservation(chat(1)))).toBe(200);
    const gemini = (candidateCount: number) => (key: string) =>
      post("/v1beta/models/mock-echo:generateContent", key, {
        contents: [{ role: "user", parts: [{ text: "x" }] }],
        generationConfig: { maxOutputTokens: 50, candidateCount },
      });
    expect((await reservation(gemini(4))) - (await reservation(gemini(1)))).toBe(150);
  });
});

/** A PNG of the given size: its signature and header, then filler standing for the image data. */
function pngDataUrl(width: number, height: number, fillerBytes: number): string {
  const bytes = new Uint8Array(24 + fillerBytes);
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  new DataView(bytes.buffer).setUint32(16, width);
  new DataView(bytes.buffer).setUint32(20, height);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `data:image/png;base64,${btoa(binary)}`;
}

describe("media in the reservation", () => {
  const reserved = async (request: Request) => {
    const { response } = await callWorker(request);
    expect(response.status).toBe(200);
    return 1_000_000 - Number(response.headers.get("x-ratelimit-remaining-tokens"));
  };

  it("counts an image by its size under the provider's rules, not by its bytes, in every format", async () => {
    // 1000×1000, and 300 KB of data: OpenAI's rule makes it 4 tiles, 765 tokens; its bytes would be 100,000.
    const image = pngDataUrl(1000, 1000, 300_000);
    const chat = await reserved(
      post("/v1/chat/completions", (await newKey({ tpm_limit: 1_000_000 })).key, {
        model: "mock-echo",
        max_tokens: 10,
        messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: image } }] }],
      }),
    );
    expect(chat).toBeGreaterThanOrEqual(765 + 10);
    expect(chat).toBeLessThan(765 + 10 + 40);
    const [, data] = image.split(",");
    // The same image in Anthropic's and Gemini's shapes, translated for the mock provider: no longer free.
    const anthropic = await reserved(
      post("/v1/messages", (await newKey({ tpm_limit: 1_000_000 })).key, {
        model: "mock-echo",
        max_tokens: 10,
        messages: [{ role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/png", data } }] }],
      }),
    );
    expect(anthropic).toBeGreaterThanOrEqual(765 + 10);
    expect(anthropic).toBeLessThan(765 + 10 + 40);
    const gemini = await reserved(
      post("/v1beta/models/mock-echo:generateContent", (await newKey({ tpm_limit: 1_000_000 })).key, {
        contents: [{ role: "user", parts: [{ inlineData: { mimeType: "image/png", data } }] }],
        generationConfig: { maxOutputTokens: 10 },
      }),
    );
    expect(gemini).toBeGreaterThanOrEqual(765 + 10);
    expect(gemini).toBeLessThan(765 + 10 + 40);
  });

  it("lets a small budget send an image its bytes would have priced out", async () => {
    // At the mock's $1 per million input tokens, 100,000 tokens of bytes would pass a $0.01 budget; 765 do not.
    const { key } = await newKey({ max_budget: 0.01 });
    const { response } = await callWorker(
      post("/v1/chat/completions", key, {
        model: "mock-echo",
        max_tokens: 10,
        messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: pngDataUrl(1000, 1000, 300_000) } }] }],
      }),
    );
    expect(response.status).toBe(200);
  });
});

describe("usage from what the provider said", () => {
  it("bills a stream the client left from Anthropic's exact input at the start, and estimates only the output", async () => {
    const { response, settled } = await callWorker(
      post(
        "/v1/messages",
        env.ADMIN_KEY,
        {
          model: "claude-mock-lorem",
          max_tokens: 60,
          stream: true,
          messages: [{ role: "user", content: "one two three four five" }],
        },
        { "x-mock-interval-ms": "40", "x-mock-tokens": "60" },
      ),
      mockProviderBindings,
    );
    expect(response.status).toBe(200);
    const reader = response.body?.getReader();
    for (let i = 0; i < 5; i++) await reader?.read();
    await reader?.cancel();
    await settled();
    const row = await usageRow(response.headers.get("x-request-id") ?? "");
    // message_start said 5; the estimate from the request's size would have been near 20.
    expect(row).toMatchObject({ status: 499, promptTokens: 5, metadata: { usage_estimated: true } });
    expect(row?.completionTokens).toBeGreaterThan(0);
  });

  it("records a timed-out attempt as an attempt with its estimated input, not as nothing", async () => {
    const bindings = { ...env, UPSTREAM_FIRST_BYTE_TIMEOUT: "150ms", UPSTREAM_RETRIES: "1", RETRY_BACKOFF: "1ms" };
    const { key } = await newKey({ tpm_limit: 1_000_000 });
    const body = { model: "mock-echo", max_tokens: 5, messages: [{ role: "user", content: "a long prompt ".repeat(50) }] };
    const { response, landed } = await callWorker(
      post("/v1/chat/completions", key, body, { "x-mock-latency-ms": "600" }),
      bindings,
    );
    expect(await errorOf(response)).toMatchObject({ status: 504, code: "upstream_timeout" });
    await landed();
    const row = await usageRow(response.headers.get("x-request-id") ?? "");
    const estimate = Math.ceil((JSON.stringify(body.messages).length + 2) / 3);
    expect(row).toMatchObject({
      status: 504,
      attempts: 2,
      promptTokens: 2 * estimate,
      completionTokens: 0,
      metadata: { usage_estimated: true, timed_out_attempts: 2 },
    });
    // At the mock's $1 per million input tokens.
    expect(row?.costUsd).toBeCloseTo((2 * estimate) / 1e6, 12);
  });
});

describe("a whole answer that reports no usage", () => {
  it("is billed from the estimate and flagged so, translated as passed through, not recorded as free", async () => {
    const { key } = await newKey({ tpm_limit: 1_000_000 });
    const messages = [{ role: "user", content: "count these words for me please" }];
    for (const [path, body] of [
      ["/v1/messages", { model: "mock-echo", max_tokens: 5, messages }],
      ["/v1/chat/completions", { model: "mock-echo", max_tokens: 5, messages }],
    ] as const) {
      const { response, landed } = await callWorker(post(path, key, body, { "x-mock-usage": "none" }));
      expect(response.status).toBe(200);
      await response.arrayBuffer();
      await landed();
      const row = await usageRow(response.headers.get("x-request-id") ?? "");
      expect(row?.metadata).toMatchObject({ usage_estimated: true });
      expect(row?.promptTokens).toBeGreaterThan(0);
      // At the mock's $1 per million input tokens.
      expect(row?.costUsd).toBeCloseTo((row?.promptTokens ?? 0) / 1e6, 12);
    }
  });
});

describe("an upstream's error inside a stream", () => {
  const failing = (message: string) => ({ "x-mock-fail": "event:2", "x-mock-fail-message": message, "x-mock-interval-ms": "5" });

  // The mock provider passes `x-mock-*` on; the keys named are the other providers' configured ones.
  it("reaches a same-format client in the upstream's own words, with every configured key taken out", async () => {
    // Mistral's keys have no prefix to know them by: the configured one is known exactly.
    const message = `Incorrect API key provided: sk-test-openai-key, and mistral-test-key too`;
    const { response, settled } = await callWorker(
      post(
        "/v1/chat/completions",
        env.ADMIN_KEY,
        { model: "mock-echo", stream: true, messages: [{ role: "user", content: "one two three four" }] },
        failing(message),
      ),
      mockProviderBindings,
    );
    const events = await sseData(response);
    expect(events).not.toContain("[DONE]");
    const last = JSON.parse(events.at(-1) ?? "{}") as { error?: { message?: string; type?: string } };
    expect(last.error).toMatchObject({
      type: "server_error",
      message: "Incorrect API key provided: [redacted], and [redacted] too",
    });
    // The chunks before it arrived, in order.
    expect(events.length).toBeGreaterThan(2);
    await settled();
    const row = await usageRow(response.headers.get("x-request-id") ?? "");
    expect(row?.status).toBe(502);
    expect(row?.error).not.toContain("test-openai-key");
    expect(row?.error).toContain("[redacted]");
  });

  it("reaches a client of another format as an error event in its format, redacted", async () => {
    const { response } = await callWorker(
      post(
        "/v1/messages",
        env.ADMIN_KEY,
        {
          model: "mock-echo",
          max_tokens: 20,
          stream: true,
          messages: [{ role: "user", content: "one two three four" }],
        },
        failing("upstream broke; key sk-test-openai-key"),
      ),
      mockProviderBindings,
    );
    const text = await response.text();
    expect(text).not.toContain("sk-test-openai-key");
    expect(text).toContain("event: error");
    expect(text).toContain("[redacted]");
    expect(text).not.toContain("message_stop");
  });
});

describe("the gateway's own names in a record's metadata", () => {
  const forged = { cache_hit: true, usage_estimated: true, session: "s-1" };

  it("cannot be set in a key's metadata, by the admin or by a user minting their own", async () => {
    const byAdmin = await admin("POST", "/admin/keys", { metadata: forged });
    expect(byAdmin.status).toBe(400);
    expect(JSON.stringify(byAdmin.body)).toContain("metadata.cache_hit");
    const { id } = await newKey({ metadata: { session: "s-0" } });
    expect((await admin("PATCH", `/admin/keys/${id}`, { metadata: { route: "free" } })).status).toBe(400);
    // A user's own key takes no metadata at all: rules, usage filters and billing read it as the organization's word.
    const user = await appToken({ sub: uniqueId("forger") });
    for (const metadata of [forged, { plan: "pro" }]) {
      const minted = await callWorker(post("/api/keys", user, { name: "mine", metadata }));
      expect(minted.response.status).toBe(400);
      expect(((await minted.response.json()) as { error: { message: string } }).error.message).toContain("metadata");
    }
  });

  it("never come from a key that has them already: its paid calls are recorded as what they were", async () => {
    const { id, key } = await newKey({ metadata: { session: "s-1" } });
    // A key written before the names were refused.
    await db().update(virtualKeys).set({ metadata: forged }).where(eq(virtualKeys.id, id));
    const call = await callWorker(chatAs(key, { max_tokens: 5 }));
    expect(call.response.status).toBe(200);
    await call.landed();
    const requestId = call.response.headers.get("x-request-id") ?? "";
    const row = await usageRow(requestId);
    expect(row?.metadata).toMatchObject({ session: "s-1" });
    expect(row?.metadata).not.toHaveProperty("cache_hit");
    expect(row?.metadata).not.toHaveProperty("usage_estimated");
    expect(row?.costUsd).toBeGreaterThan(0);
    const listed = await admin("GET", `/admin/usage?request_id=${requestId}`);
    expect((listed.body.data as { cache_hit: boolean; usage_estimated: boolean }[])[0]).toMatchObject({
      cache_hit: false,
      usage_estimated: false,
    });
    const [outbox] = await db().select().from(billingOutbox).where(eq(billingOutbox.requestId, requestId));
    expect(JSON.stringify(outbox?.payload ?? {})).not.toContain("cache_hit");
  });
});

describe("prompt-cache writes", () => {
  // A catalog model on Anthropic at $10 in, $20 out, $1 per million read from the cache; writes at the default
  // multipliers: $12.50 for five minutes, $20 for an hour.
  const pricedClaude = async (prices: Record<string, number> = {}) => {
    const model = uniqueId("house-claude");
    const created = await admin("POST", "/admin/models", {
      id: model,
      provider: "anthropic",
      upstream_id: "mock-echo",
      input_usd_per_mtok: 10,
      output_usd_per_mtok: 20,
      cached_input_usd_per_mtok: 1,
      ...prices,
    });
    expect(created.status).toBe(201);
    return model;
  };
  /** Eight tokens of system prompt, marked for the cache, unique to the test; "hi there" is two more. */
  const messages = (model: string, context: string, ttl?: "1h", stream = false) => ({
    model,
    max_tokens: 100,
    stream,
    system: [
      {
        type: "text",
        text: `Context ${context} one two three four five six`,
        cache_control: { type: "ephemeral", ...(ttl && { ttl }) },
      },
    ],
    messages: [{ role: "user", content: "hi there" }],
  });
  const send = async (key: string, body: Record<string, unknown>) => {
    let served = await callWorker(post("/v1/messages", key, body, { "anthropic-version": "2023-06-01" }), mockProviderBindings);
    // The isolate's catalog is re-read in the background: a model just created may take a moment to be seen.
    for (let tries = 0; served.response.status === 404 && tries < 30; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      served = await callWorker(post("/v1/messages", key, body, { "anthropic-version": "2023-06-01" }), mockProviderBindings);
    }
    expect(served.response.status).toBe(200);
    const text = await served.response.text();
    await served.landed();
    const requestId = served.response.headers.get("x-request-id") ?? "";
    return { requestId, text, row: await usageRow(requestId) };
  };

  it("are counted apart and billed at 1.25 times input, then read at the cached rate; the APIs and the webhook show them", async () => {
    const model = await pricedClaude();
    const { key } = await newKey({ max_budget: 5 });
    const context = crypto.randomUUID().replaceAll("-", "");

    const written = await send(key, messages(model, context));
    expect(JSON.parse(written.text).usage).toMatchObject({
      input_tokens: 2,
      cache_creation_input_tokens: 8,
      cache_read_input_tokens: 0,
    });
    expect(written.row).toMatchObject({ promptTokens: 10, cachedTokens: 0, cacheWriteTokens: 8, completionTokens: 2 });
    // Before, the 8 written were billed as input: $0.00014.
    expect(written.row?.costUsd).toBeCloseTo((2 * 10 + 8 * 12.5 + 2 * 20) / 1e6, 15);
    expect(written.row?.metadata).not.toHaveProperty("cache_write_1h_tokens");

    const read = await send(key, messages(model, context));
    expect(read.row).toMatchObject({ promptTokens: 10, cachedTokens: 8, cacheWriteTokens: 0, completionTokens: 2 });
    expect(read.row?.costUsd).toBeCloseTo((2 * 10 + 8 * 1 + 2 * 20) / 1e6, 15);

    const adminGet = (path: string) =>
      callWorker(new Request(`${BASE}${path}`, { headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } }));
    const listed = await adminGet(`/admin/usage?request_id=${written.requestId}`);
    expect(((await listed.response.json()) as { data: unknown[] }).data).toMatchObject([
      { cached_tokens: 0, cache_write_tokens: 8, prompt_tokens: 10 },
    ]);
    const totals = await adminGet(`/admin/usage?model=${model}&group_by=model`);
    expect(((await totals.response.json()) as { data: unknown[] }).data).toMatchObject([
      { model, requests: 2, prompt_tokens: 20, cached_tokens: 8, cache_write_tokens: 8 },
    ]);
    const csv = await (await adminGet(`/admin/usage?model=${model}&group_by=model&format=csv`)).response.text();
    expect(csv.split("\r\n")[0]).toContain("cached_tokens,cache_write_tokens,");
    // The caller's own view of it.
    const own = await callWorker(
      new Request(`${BASE}/api/ai/usage?model=${model}&group_by=total`, { headers: { authorization: `Bearer ${key}` } }),
    );
    expect(((await own.response.json()) as { data: unknown[] }).data).toMatchObject([
      { requests: 2, cached_tokens: 8, cache_write_tokens: 8 },
    ]);
    const [outbox] = await db().select().from(billingOutbox).where(eq(billingOutbox.requestId, written.requestId));
    expect(outbox?.payload).toMatchObject({ cache_write_tokens: 8, cached_tokens: 0, prompt_tokens: 10 });
    expect(Number(outbox?.payload.cost_usd)).toBeCloseTo((2 * 10 + 8 * 12.5 + 2 * 20) / 1e6, 15);
  });

  it("for an hour cost twice the input rate, streamed", async () => {
    const model = await pricedClaude();
    const { key } = await newKey({ max_budget: 5 });
    const written = await send(key, messages(model, crypto.randomUUID().replaceAll("-", ""), "1h", true));
    expect(written.text).toContain("event: message_stop");
    expect(written.row).toMatchObject({ streamed: true, promptTokens: 10, cachedTokens: 0, cacheWriteTokens: 8 });
    expect(written.row?.metadata).toMatchObject({ cache_write_1h_tokens: 8 });
    expect(written.row?.costUsd).toBeCloseTo((2 * 10 + 8 * 20 + 2 * 20) / 1e6, 15);
  });

  it("cost the catalog's own write price where it sets one", async () => {
    const model = await pricedClaude({ cache_write_usd_per_mtok: 11 });
    expect((await admin("GET", `/admin/models/${model}`)).body).toMatchObject({ cache_write_usd_per_mtok: 11 });
    const { key } = await newKey({ max_budget: 5 });
    const written = await send(key, messages(model, crypto.randomUUID().replaceAll("-", "")));
    expect(written.row).toMatchObject({ cacheWriteTokens: 8 });
    expect(written.row?.costUsd).toBeCloseTo((2 * 10 + 8 * 11 + 2 * 20) / 1e6, 15);
  });
});
